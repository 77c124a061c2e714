package io.ds4j.worker.meta;

import io.ds4j.common.WriteMode;
import io.ds4j.worker.store.StoredObject;

/**
 * What the metadata owner knows of one key: its current version, write mode, expiry and where the data is. In a
 * standalone worker the data is always the local {@link StoredObject}; the cluster will add remote locations.
 */
public final class ObjectEntry
{
    final String key;
    final StoredObject object;
    final long version;
    final WriteMode writeMode;
    /** Epoch ms at which the key expires; 0 means never. Changed by expire(). */
    volatile long expiresAtMs;

    ObjectEntry(final String key, final StoredObject object, final long version, final WriteMode writeMode,
        final long expiresAtMs)
    {
        this.key = key;
        this.object = object;
        this.version = version;
        this.writeMode = writeMode;
        this.expiresAtMs = expiresAtMs;
    }

    public String key()
    {
        return key;
    }

    public StoredObject object()
    {
        return object;
    }

    public long version()
    {
        return version;
    }

    public WriteMode writeMode()
    {
        return writeMode;
    }

    public long expiresAtMs()
    {
        return expiresAtMs;
    }
}
