"""Each user's inbox: in-app notifications and tasks (tables and the `Inbox` service)."""
