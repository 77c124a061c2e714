package io.ds4j.worker.store.l2;

import java.io.IOException;

/**
 * An L2 record that exists but cannot be trusted: truncated, a bad magic or checksum, or a file that holds another
 * key. Distinct from other {@link IOException}s so that a caller can tell "the record is damaged" (the value is lost;
 * treat it as a miss, or rewrite it) from "L2 cannot be reached right now" (retry later).
 */
public final class CorruptL2RecordException extends IOException
{
    private static final long serialVersionUID = 1L;

    public CorruptL2RecordException(final String message)
    {
        super(message);
    }
}
