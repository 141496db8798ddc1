"""Several CTI nodes on one Redis and one PBX: which node acts (`Lease`), and the agents'
duty carried out by it whichever node a page talks to (`ClusterDuty`)."""

from cti.cluster.duty import ClusterDuty, NoActingNode
from cti.cluster.lease import Lease, LocalLease, RedisLease

__all__ = ["ClusterDuty", "Lease", "LocalLease", "NoActingNode", "RedisLease"]
