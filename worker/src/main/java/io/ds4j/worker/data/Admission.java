package io.ds4j.worker.data;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

import java.util.function.Supplier;

/**
 * Whether this node serves its clients' gets and publishes at all: not once it is leaving the cluster (a lossless
 * exit: it gives its copies up, and an owner no longer retires them here), and not while its cluster membership may
 * have lapsed (the cluster then goes on without it, and its copies may be stale). One check, made where a get is
 * resolved and where a publish happens.
 */
final class Admission
{
    private volatile String leaving;
    private volatile Supplier<String> fence = () -> null;

    void fence(final Supplier<String> reason)
    {
        fence = reason;
    }

    void leaving(final String why)
    {
        leaving = why;
    }

    /** Throws SCALE_DOWN while leaving, NOT_READY while fenced, with the reason. */
    void check()
    {
        final String gone = leaving;
        if (gone != null)
        {
            throw new DsException(StatusCode.SCALE_DOWN, gone);
        }
        final String refused = fence.get();
        if (refused != null)
        {
            throw new DsException(StatusCode.NOT_READY, refused);
        }
    }
}
