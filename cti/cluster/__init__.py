"""Several CTI nodes on one Redis and one PBX: which node acts (`Lease`)."""

from cti.cluster.lease import Lease, LocalLease, RedisLease

__all__ = ["Lease", "LocalLease", "RedisLease"]
