"""The delivery engine: claim deliveries, send them through their provider, record every outcome.

- claim.py: leases rows to one worker with a conditional update; renewals keep them.
- chunk.py: sends a claimed chunk through the providers (the only caller of providers).
- recording.py: writes results back in small groups as they arrive; deactivates dead tokens.
- sweep.py: finds what is due and unheld (lost tasks, dead workers, retries) in the database.
- scheduler.py: runs the sweeper in a thread of a server that has no broker.
"""

from .chunk import deliver_chunk
from .claim import CLAIMABLE, Claimed, claim
from .recording import NOT_CONFIGURED, retry_delay
from .sweep import SweepReport, requeue, sweep

__all__ = [
    "CLAIMABLE",
    "NOT_CONFIGURED",
    "Claimed",
    "SweepReport",
    "claim",
    "deliver_chunk",
    "requeue",
    "retry_delay",
    "sweep",
]
