"""SQL implementations of the repository ports in `domain.ports`."""

from storage.repositories.broadcasts import SqlBroadcasts
from storage.repositories.drafts import SqlDrafts
from storage.repositories.escalations import SqlEscalations
from storage.repositories.invitations import SqlInvitations
from storage.repositories.job_runs import SqlJobRuns
from storage.repositories.link_codes import SqlLinkCodes
from storage.repositories.outbox import SqlOutbox
from storage.repositories.people import SqlPeople
from storage.repositories.reports import SqlReports
from storage.repositories.subscriptions import SqlSubscriptions
from storage.repositories.updates import SqlProcessedUpdates

__all__ = [
    "SqlBroadcasts",
    "SqlDrafts",
    "SqlEscalations",
    "SqlInvitations",
    "SqlJobRuns",
    "SqlLinkCodes",
    "SqlOutbox",
    "SqlPeople",
    "SqlProcessedUpdates",
    "SqlReports",
    "SqlSubscriptions",
]
