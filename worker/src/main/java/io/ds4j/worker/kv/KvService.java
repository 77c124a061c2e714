package io.ds4j.worker.kv;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.meta.MetadataOwner.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.Value;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The KV semantics of spec §1.3 on top of the tiered store and the metadata owner, independent of how requests
 * arrive. Every write goes allocate, fill, L2 (per write mode), publish; a reader gets retained values it must
 * release, from whichever tier holds them.
 */
public final class KvService
{
    private final TieredStore store;
    private final MetadataOwner metadata;

    public KvService(final TieredStore store, final MetadataOwner metadata)
    {
        this.store = store;
        this.metadata = metadata;
    }

    public TieredStore store()
    {
        return store;
    }

    public MetadataOwner metadata()
    {
        return metadata;
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
        final StoreEntry entry = store.entry(key, object, metadata.nextVersion(), params.writeMode(),
            params.ttlSecond());
        try
        {
            store.beforePublish(entry);
        }
        catch (final DsException e)
        {
            object.release();
            throw e;
        }
        final PublishResult result = metadata.publish(entry, params.existence());
        if (result == PublishResult.KEPT_EXISTING)
        {
            // NX lost a race with another writer: this entry never became current
            store.removed(entry, Removal.DELETED, null);
            return;
        }
        store.published(entry);
        if (result == PublishResult.CREATED && !entry.l2Backed())
        {
            // a record an earlier worker run left in L2 must not come back once this cache-only value is gone
            store.forgetOlderInL2(entry);
        }
    }

    /**
     * Retained values for the keys (null where missing), waiting up to {@code subTimeoutMs} for missing ones. A key
     * no tier in memory or on local disk knows is looked up in L2 (enable_l2_cache_fallback).
     */
    public Value[] get(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        KeyRules.checkReadBatch(keys);
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        final StoreEntry[] entries = metadata.await(keys, subTimeoutMs);
        final Value[] values = new Value[entries.length];
        try
        {
            for (int i = 0; i < entries.length; i++)
            {
                values[i] = read(keys.get(i), entries[i]);
            }
        }
        catch (final RuntimeException e)
        {
            for (final Value value : values)
            {
                if (value != null)
                {
                    value.release();
                }
            }
            throw e;
        }
        return values;
    }

    private Value read(final String key, final StoreEntry found)
    {
        StoreEntry entry = found != null ? found : fromL2(key);
        // an entry replaced or removed between the lookup and the read: look once more
        for (int attempt = 0; attempt < 2 && entry != null; attempt++)
        {
            final Value value = store.read(entry);
            if (value != null)
            {
                return value;
            }
            entry = metadata.lookup(key);
        }
        store.stats().misses.increment();
        return null;
    }

    /** The key's entry rebuilt from L2, now current; null when L2 has nothing for it. */
    private StoreEntry fromL2(final String key)
    {
        final StoreEntry loaded = store.loadFromL2(key);
        if (loaded == null)
        {
            return null;
        }
        if (metadata.publish(loaded, ExistenceOpt.NX) == PublishResult.KEPT_EXISTING)
        {
            store.removed(loaded, Removal.DROPPED, null);
            return metadata.lookup(key);
        }
        store.published(loaded);
        return loaded;
    }

    public boolean delete(final String key)
    {
        KeyRules.check(key);
        if (metadata.delete(key))
        {
            return true;
        }
        // not in memory or spill: a record written before a restart may still be in L2
        return store.deleteFromL2(key);
    }

    public boolean exists(final String key)
    {
        KeyRules.check(key);
        return metadata.exists(key) || store.existsInL2(key);
    }

    public void expire(final String key, final int ttlSecond)
    {
        KeyRules.check(key);
        if (ttlSecond < 0)
        {
            throw new DsException(StatusCode.INVALID, "ttl_second must be 0 or positive");
        }
        if (!metadata.expire(key, ttlSecond) && (fromL2(key) == null || !metadata.expire(key, ttlSecond)))
        {
            throw new DsException(StatusCode.NOT_FOUND, "key " + key + " does not exist");
        }
        final StoreEntry entry = metadata.lookup(key);
        if (entry != null)
        {
            store.expiryChanged(entry);
        }
    }
}
