package io.ds4j.worker.cluster;

/**
 * A worker's state in the ring record, the upstream's {@code WorkerPb.state} (spec §3.3, §3.10). The names are the
 * values written to etcd.
 */
public enum WorkerState
{
    /** Listed in the ring (for example by the worker that created the first ring) but not yet confirmed by itself. */
    INITIAL,
    /** Added to the ring; taking over its ranges (metadata migration, a later step). */
    JOINING,
    /** Serving its ranges. */
    ACTIVE,
    /** Handing its ranges over before it exits. */
    LEAVING
}
