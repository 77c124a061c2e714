package io.ds4j.worker.kv;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.Value;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The KV semantics of spec §1.3, independent of how requests arrive: every write is allocate, fill, then the
 * {@link io.ds4j.worker.data.Publisher}'s one publish sequence (always CAUSAL); every read goes through the one
 * {@link io.ds4j.worker.data.Resolver}, and a reader gets retained values it must release.
 */
public final class KvService
{
    private final DataPlane data;
    private final TieredStore store;
    private final MetadataOwner owner;

    public KvService(final DataPlane data)
    {
        this.data = data;
        this.store = data.store();
        this.owner = data.owner();
    }

    public TieredStore store()
    {
        return store;
    }

    public DataPlane data()
    {
        return data;
    }

    /**
     * Stores a copy of {@code value} under {@code key}.
     *
     * @throws DsException INVALID for a bad key, OUT_OF_MEMORY / NO_SPACE when no tier can hold it, IO_ERROR or
     *                     WRITE_BACK_QUEUE_FULL when L2 cannot take it as the write mode asks
     */
    public void set(final String key, final MemorySegment value, final SetParams params)
    {
        KeyRules.check(key);
        if (params.existence() == ExistenceOpt.NX && exists(key))
        {
            return;
        }
        final StoredObject object = store.allocate(value.byteSize());
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
        return store.allocate(size);
    }

    /** Makes a filled object the key's current value; the caller's reference passes to the key (or is dropped). */
    public void publish(final String key, final StoredObject object, final SetParams params)
    {
        final long expiresAtMs = params.ttlSecond() > 0 ? System.currentTimeMillis() + params.ttlSecond() * 1000L : 0;
        data.publisher().publish(key, object, params.writeMode(), expiresAtMs, params.existence(),
            ConsistencyType.CAUSAL, null);
    }

    /**
     * Retained values for the keys (null where missing), waiting up to {@code subTimeoutMs} for missing ones. A key
     * no worker holds is looked up in L2 (enable_l2_cache_fallback).
     */
    public Value[] get(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        return data.resolver().get(keys, subTimeoutMs, null);
    }

    public boolean delete(final String key)
    {
        KeyRules.check(key);
        final long deletedAt = data.publisher().nextVersion();
        if (owner.delete(key))
        {
            // the holders forget their own versions in L2; an older record that no holder's removal reaches must
            // not outlive the delete either
            store.forgetInL2Before(key, deletedAt);
            return true;
        }
        // no worker holds it: a record written before a restart may still be in L2
        return store.deleteFromL2(key);
    }

    public boolean exists(final String key)
    {
        KeyRules.check(key);
        return owner.exists(key) || store.existsInL2(key);
    }

    public void expire(final String key, final int ttlSecond)
    {
        KeyRules.check(key);
        if (ttlSecond < 0)
        {
            throw new DsException(StatusCode.INVALID, "ttl_second must be 0 or positive");
        }
        if (!owner.expire(key, ttlSecond) && (data.loadFromL2(key) == null || !owner.expire(key, ttlSecond)))
        {
            throw new DsException(StatusCode.NOT_FOUND, "key " + key + " does not exist");
        }
    }
}
