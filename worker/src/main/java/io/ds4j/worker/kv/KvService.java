package io.ds4j.worker.kv;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoredObject;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The KV semantics of spec §1.3 on top of the pool and the metadata owner, independent of how requests arrive.
 * Every write goes through allocate, fill, publish; a reader gets retained objects it must release.
 */
public final class KvService
{
    private final SharedPool pool;
    private final MetadataOwner metadata;

    public KvService(final SharedPool pool, final MetadataOwner metadata)
    {
        this.pool = pool;
        this.metadata = metadata;
    }

    public SharedPool pool()
    {
        return pool;
    }

    public MetadataOwner metadata()
    {
        return metadata;
    }

    /**
     * Stores a copy of {@code value} under {@code key}.
     *
     * @throws DsException INVALID for a bad key, OUT_OF_MEMORY when the pool cannot hold it
     */
    public void set(final String key, final MemorySegment value, final SetParams params)
    {
        KeyRules.check(key);
        if (params.existence() == ExistenceOpt.NX && metadata.exists(key))
        {
            return;
        }
        final StoredObject object = pool.allocate(value.byteSize(), 0);
        MemorySegment.copy(value, 0, object.data(), 0, value.byteSize());
        publish(key, object, params);
    }

    /** Allocates a region the caller fills before {@link #publish}; the caller owns one reference to it. */
    public StoredObject create(final String key, final long size)
    {
        KeyRules.check(key);
        if (size < 0)
        {
            throw new DsException(StatusCode.INVALID, "size of " + key + " is negative: " + size);
        }
        return pool.allocate(size, 0);
    }

    /** Makes a filled object the key's current value; the caller's reference passes to the key (or is dropped). */
    public void publish(final String key, final StoredObject object, final SetParams params)
    {
        object.markPublished(metadata.nextVersion());
        final PublishResult result = metadata.publish(key, object, params.writeMode(), params.ttlSecond(),
            params.existence());
        if (result == PublishResult.KEPT_EXISTING)
        {
            object.release();
        }
    }

    /** Retained objects for the keys (null where missing), waiting up to {@code subTimeoutMs} for missing ones. */
    public StoredObject[] get(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        KeyRules.checkReadBatch(keys);
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        return metadata.acquire(keys, subTimeoutMs);
    }

    public boolean delete(final String key)
    {
        KeyRules.check(key);
        return metadata.delete(key);
    }

    public boolean exists(final String key)
    {
        KeyRules.check(key);
        return metadata.exists(key);
    }

    public void expire(final String key, final int ttlSecond)
    {
        KeyRules.check(key);
        if (ttlSecond < 0)
        {
            throw new DsException(StatusCode.INVALID, "ttl_second must be 0 or positive");
        }
        if (!metadata.expire(key, ttlSecond))
        {
            throw new DsException(StatusCode.NOT_FOUND, "key " + key + " does not exist");
        }
    }
}
