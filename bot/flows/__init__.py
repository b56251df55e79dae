"""The work a listener (or a job) triggers, one module per capability.

- `search`: `/news` searches and their pages, the topics list
- `review`: Publish, Reject, Unpublish (the decision, git, every posted card), the queue
- `home`: the App Home tab
- `share`: posting a card to a channel
- `unfurl`: answering pasted article links
- `digest`: the daily digest, when it is due and what it holds
- `cards`: keeping posted cards up to date after decisions
- `answer`: how a listener answers where the click happened
- `schedule`: Publish at… (the modal), Cancel, `/news scheduled`, publishing what is due
- `reminders`: reminding the review channel of drafts that waited too long

Listeners parse the payload, call one flow and reply; flows take `Deps`.
"""
