package io.ds4j.worker.data;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.KeyMeta;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The one place a get is resolved, whatever interface it comes from. For each key, in order:
 * <ol>
 *   <li>a copy this node holds: served from whichever tier has it, with no owner round trip (the owner retires
 *   copies before a CAUSAL overwrite is acknowledged, so a copy here is current);</li>
 *   <li>otherwise the key's owner is asked (waiting up to the subscribe timeout for keys not yet written); a single
 *   key on another worker's ranges is asked with OWNER_FETCH, which brings the bytes in the same round trip when
 *   the owner is also the primary;</li>
 *   <li>otherwise the version the owner names is pulled from its primary into this node's pool and kept as a replica,
 *   registered with the owner ({@code enable_data_replication});</li>
 *   <li>a key no live copy has is looked up in L2 ({@code enable_l2_cache_fallback}), and a record found there
 *   becomes this node's primary copy.</li>
 * </ol>
 */
public final class Resolver
{
    private final Admission admission;

    /**
     * A version the owner named that its holder no longer has (overwritten meanwhile) is looked up again, for as long
     * as this: a writer that overwrites the key faster than a query and a pull take can make several attempts in a
     * row miss, and a fixed few of them made a get of a live key answer NOT_FOUND (ClusterConsistencyTest).
     */
    private static final long PULL_RETRY_NANOS = 2_000_000_000L;
    /** How long a version the owner named may take to be installed by its writer here. */
    private static final long INSTALL_WAIT_NANOS = 50_000_000L;

    private final String self;
    private final TieredStore store;
    private final LocalCopies copies;
    private final MetadataOwner owner;
    private final Publisher publisher;
    private final PrimaryFetcher fetcher;
    private final boolean replication;
    private volatile BiFunction<ConsistencyType, Boolean, StoreEntry.Attachment> objectAttachment = (c, s) -> null;

    Resolver(final String self, final TieredStore store, final LocalCopies copies, final MetadataOwner owner,
        final Publisher publisher, final PrimaryFetcher fetcher, final boolean replication, final Admission admission)
    {
        this.admission = admission;
        this.self = self;
        this.store = store;
        this.copies = copies;
        this.owner = owner;
        this.publisher = publisher;
        this.fetcher = fetcher;
        this.replication = replication;
    }

    /** How a replica of an object pulled from another worker gets its attachment (set by the object interface). */
    public void objectAttachment(final BiFunction<ConsistencyType, Boolean, StoreEntry.Attachment> factory)
    {
        this.objectAttachment = factory;
    }

    /**
     * Retained values for the keys (null where missing), waiting up to {@code subTimeoutMs} for missing ones.
     *
     * @param entries null, or filled with the entry each value belongs to (may be a replica not kept here)
     */
    public Value[] get(final List<String> keys, final long subTimeoutMs, final StoreEntry[] entries)
        throws InterruptedException
    {
        KeyRules.checkReadBatch(keys);
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        admission.check();
        final Value[] values = new Value[keys.size()];
        List<String> missing = null;
        try
        {
            for (int i = 0; i < values.length; i++)
            {
                final StoreEntry local = copies.current(keys.get(i));
                final Value value = local == null ? null : store.read(local);
                if (value != null)
                {
                    values[i] = value;
                    note(entries, i, local);
                }
                else
                {
                    if (missing == null)
                    {
                        missing = new ArrayList<>();
                    }
                    missing.add(keys.get(i));
                }
            }
            if (missing != null)
            {
                resolveMissing(keys, missing, subTimeoutMs, values, entries);
            }
        }
        catch (final RuntimeException | InterruptedException e)
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

    private static void note(final StoreEntry[] entries, final int index, final StoreEntry entry)
    {
        if (entries != null)
        {
            entries[index] = entry;
        }
    }

    private void resolveMissing(final List<String> keys, final List<String> missing, final long subTimeoutMs,
        final Value[] values, final StoreEntry[] entries) throws InterruptedException
    {
        if (missing.size() == 1)
        {
            // one key on another owner: one round trip that brings its bytes too when that owner is the primary
            PrimaryFetcher.OwnerAnswer answer;
            try
            {
                answer = fetcher.fetchAtOwner(missing.getFirst(), subTimeoutMs);
            }
            catch (final DsException e)
            {
                if (e.code() != StatusCode.NOT_OWNER)
                {
                    throw e;
                }
                answer = null; // the key is moving to another owner: the routed query below follows it there
            }
            if (answer != null)
            {
                int slot = 0;
                while (values[slot] != null)
                {
                    slot++;
                }
                resolveAnswered(missing.getFirst(), answer, values, entries, slot);
                return;
            }
        }
        final KeyMeta[] metas = owner.query(missing, subTimeoutMs);
        final int[] slots = new int[metas.length];
        int pulls = 0;
        for (int i = 0, next = 0; i < values.length; i++)
        {
            if (values[i] == null)
            {
                slots[next] = i;
                if (metas[next] != null && !self.equals(metas[next].primary()))
                {
                    pulls++;
                }
                next++;
            }
        }
        if (pulls <= 1)
        {
            for (int j = 0; j < metas.length; j++)
            {
                resolveOne(keys.get(slots[j]), metas[j], values, entries, slots[j]);
            }
            return;
        }
        // keys held by other workers are pulled in parallel, one virtual thread per key, joined before answering
        final Thread[] threads = new Thread[metas.length];
        final RuntimeException[] failures = new RuntimeException[metas.length];
        for (int j = 0; j < metas.length; j++)
        {
            final int slot = slots[j];
            final KeyMeta meta = metas[j];
            final int index = j;
            threads[j] = Thread.ofVirtual().name("ds4j-pull").start(() ->
            {
                try
                {
                    resolveOne(keys.get(slot), meta, values, entries, slot);
                }
                catch (final RuntimeException e)
                {
                    failures[index] = e;
                }
                catch (final InterruptedException e)
                {
                    failures[index] = new DsException(StatusCode.INTERRUPTED, "interrupted");
                }
            });
        }
        for (final Thread thread : threads)
        {
            thread.join();
        }
        for (final RuntimeException failure : failures)
        {
            if (failure != null)
            {
                throw failure; // the caller releases every value already resolved
            }
        }
    }

    private void resolveOne(final String key, final KeyMeta meta, final Value[] values, final StoreEntry[] entries,
        final int index) throws InterruptedException
    {
        values[index] = meta == null ? fromL2ElseOwner(key, entries, index) : fromOwner(key, meta, entries, index);
        if (values[index] == null)
        {
            store.stats().misses.increment();
        }
    }

    /** A key whose owner answered with OWNER_FETCH: the bytes it sent, or on as after an owner query. */
    private void resolveAnswered(final String key, final PrimaryFetcher.OwnerAnswer answer, final Value[] values,
        final StoreEntry[] entries, final int index) throws InterruptedException
    {
        if (answer.fetched() == null)
        {
            resolveOne(key, answer.meta(), values, entries, index);
            return;
        }
        publisher.observe(answer.meta().version());
        values[index] = keep(key, answer.meta(), answer.fetched(), entries, index, replication);
    }

    /** The version the owner named, from this node (a write that just landed) or pulled from its primary. */
    private Value fromOwner(final String key, final KeyMeta first, final StoreEntry[] entries, final int index)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + PULL_RETRY_NANOS;
        KeyMeta meta = first;
        while (meta != null)
        {
            publisher.observe(meta.version());
            // a copy of this version may have arrived meanwhile (the same key earlier in this batch): no second pull
            final Value here = self.equals(meta.primary()) ? null : sameVersionHere(key, meta.version(), entries,
                index);
            if (here != null)
            {
                return here;
            }
            final Value value = self.equals(meta.primary()) ? fromHere(key, meta, entries, index)
                : pull(key, meta, entries, index);
            if (value != null)
            {
                return value;
            }
            // another reader here may have pulled this version or a newer one meanwhile
            final StoreEntry local = copies.current(key);
            final Value newer = local == null || local.version() < meta.version() ? null : store.read(local);
            if (newer != null)
            {
                note(entries, index, local);
                return newer;
            }
            if (System.nanoTime() - deadline > 0)
            {
                throw new DsException(StatusCode.TRY_AGAIN, "every version of " + key + " the owner named was"
                    + " overwritten before it could be pulled, for " + PULL_RETRY_NANOS / 1_000_000 + " ms; retry");
            }
            meta = owner.query(List.of(key), 0)[0];
        }
        return fromL2(key, entries, index);
    }

    private Value fromHere(final String key, final KeyMeta meta, final StoreEntry[] entries, final int index)
    {
        final StoreEntry local = copies.awaitVersion(key, meta.version(), INSTALL_WAIT_NANOS);
        if (local == null)
        {
            return null;
        }
        final Value value = store.read(local);
        if (value != null)
        {
            note(entries, index, local);
        }
        return value;
    }

    /** Pulls {@code meta}'s version from its primary; kept here as a replica when replication is on. */
    private Value pull(final String key, final KeyMeta meta, final StoreEntry[] entries, final int index)
    {
        PrimaryFetcher.Fetched fetched;
        try
        {
            fetched = fetcher.fetch(meta.primary(), key, meta.version());
        }
        catch (final DsException e)
        {
            fetched = e.code() == StatusCode.RPC_UNAVAILABLE ? fromL2InsteadOfPrimary(key, meta) : null;
            if (fetched == null)
            {
                throw e;
            }
        }
        if (fetched == null)
        {
            // the primary has no such version (it lost it: its publish went unanswered, or it restarted): the same
            // version in L2, if the key is L2-backed
            fetched = fromL2InsteadOfPrimary(key, meta);
        }
        return fetched == null ? null : keep(key, meta, fetched, entries, index, replication);
    }

    /**
     * A copy pulled from its primary, of the version {@code meta} names or a newer one: kept here as a replica when
     * replication is on and the owner still calls it current, else served once and freed.
     */
    private Value keep(final String key, final KeyMeta meta, final PrimaryFetcher.Fetched fetched,
        final StoreEntry[] entries, final int index, final boolean register)
    {
        final StoredObject region = fetched.region();
        final long version = fetched.version();
        final StoreEntry replica = store.replicaEntry(key, region, version, meta.writeMode(), meta.expiresAtMs());
        if (fetched.isObject())
        {
            replica.attachment(objectAttachment.apply(meta.consistency(), fetched.sealed()));
        }
        note(entries, index, replica);
        if (!region.tryRetain())
        {
            throw new DsException(StatusCode.RUNTIME_ERROR, "a region pulled for " + key + " was freed");
        }
        // registered first: once the owner knows the copy it retires it on the next overwrite, and a retirement
        // that overtakes the install leaves a tombstone that refuses it. A newer version than the owner named is
        // served but not kept: its metadata (expiry, write mode) is the owner's to tell
        final boolean registered = register && version == meta.version() && owner.addCopy(key, version, self);
        if (registered && copies.install(replica))
        {
            store.published(replica);
            return region;
        }
        copies.discard(replica, Removal.DISCARDED); // the caller's reference keeps the bytes until the response is sent
        if (registered)
        {
            // another pull of this version installed its copy first (a concurrent reader, or the same key twice in
            // one batch): serve that one, so all holders of an object on this worker share its memory
            // (ObjectSemanticsTest.manyBuffersOfOneObjectReadTheSameMemory on a cluster)
            final Value shared = sameVersionHere(key, version, entries, index);
            if (shared != null)
            {
                region.release();
                return shared;
            }
        }
        // whatever older copy is still here is stale: a later read on this worker must not go back to it
        copies.retire(key, version - 1, Removal.REPLACED);
        return region;
    }

    /**
     * A worker leaving losslessly gives up its primary copy of {@code version}: this node pulls it and registers it
     * with the owner as a replica, which the owner promotes once the leaver lets it go.
     *
     * @return {@code OK} when this node holds that version now, {@code NOT_FOUND} when it is no longer the key's
     *         current version (nothing to keep), or why it could not be taken
     */
    public StatusCode replicate(final String key, final long version, final String from)
    {
        try
        {
            final KeyMeta meta = owner.query(List.of(key), 0)[0];
            if (meta == null || meta.version() != version)
            {
                return StatusCode.NOT_FOUND;
            }
            final StoreEntry here = copies.current(key);
            if (here != null && here.version() == version)
            {
                return here.replica() && !owner.addCopy(key, version, self) ? StatusCode.NOT_FOUND : StatusCode.OK;
            }
            final PrimaryFetcher.Fetched fetched = fetcher.fetch(from, key, version);
            if (fetched == null)
            {
                return StatusCode.NOT_FOUND;
            }
            keep(key, meta, fetched, null, 0, true).release();
            final StoreEntry kept = copies.current(key);
            return kept != null && kept.version() == version ? StatusCode.OK : StatusCode.NOT_FOUND;
        }
        catch (final DsException e)
        {
            return e.code();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return StatusCode.INTERRUPTED;
        }
    }

    /** This node's copy of exactly {@code version}, retained, or null. */
    private Value sameVersionHere(final String key, final long version, final StoreEntry[] entries, final int index)
    {
        final StoreEntry current = copies.current(key);
        final Value value = current == null || current.version() != version ? null : store.read(current);
        if (value != null)
        {
            note(entries, index, current);
        }
        return value;
    }

    /**
     * The primary of an L2-backed version cannot be reached (it died, or died mid-transfer): the same version in L2
     * serves instead, as a replica like a pulled copy (the owner still names the dead primary, so it cannot become
     * this node's primary). Only the very version the owner named is taken: a write-back record may lag behind it,
     * and a WRITE_THROUGH version whose writer got no answer from the owner is still staged beside the key's record.
     * Null when L2 has no such record (the caller then reports the primary as unavailable).
     */
    private PrimaryFetcher.Fetched fromL2InsteadOfPrimary(final String key, final KeyMeta meta)
    {
        final WriteMode mode = meta.writeMode();
        if (mode != WriteMode.WRITE_THROUGH_L2_CACHE && mode != WriteMode.WRITE_BACK_L2_CACHE
            && mode != WriteMode.WRITE_BACK_L2_CACHE_EVICT)
        {
            return null;
        }
        final StoreEntry loaded = store.loadFromL2(key, meta.version());
        if (loaded == null)
        {
            return null;
        }
        // the loaded entry was never installed or told to anyone: its region alone is kept; it must not go through
        // the removal listeners, which would delete the L2 record it came from
        return new PrimaryFetcher.Fetched(meta.version(), loaded.memory(), false, false);
    }

    /**
     * The owner had no version: L2's record, if any. When a write of the key became current meanwhile (a WRITE_THROUGH
     * writer puts its record in L2 before the owner knows it, so this load can find it and lose the NX publish to it),
     * the owner is asked once more instead of answering NOT_FOUND for a key that exists.
     */
    private Value fromL2ElseOwner(final String key, final StoreEntry[] entries, final int index)
        throws InterruptedException
    {
        final Value value = fromL2(key, entries, index);
        if (value != null)
        {
            return value;
        }
        final KeyMeta meta = owner.query(List.of(key), 0)[0];
        return meta == null ? null : fromOwner(key, meta, entries, index);
    }

    /** A key no live copy has: a record in L2 becomes this node's primary copy. */
    private Value fromL2(final String key, final StoreEntry[] entries, final int index)
    {
        final StoreEntry loaded = loadFromL2(key);
        if (loaded == null)
        {
            return null;
        }
        final Value value = store.read(loaded);
        if (value != null)
        {
            note(entries, index, loaded);
        }
        return value;
    }

    /** The key's L2 record installed as this node's primary copy and registered; null when L2 has none. */
    StoreEntry loadFromL2(final String key)
    {
        final StoreEntry loaded = store.loadFromL2(key);
        if (loaded == null)
        {
            return null;
        }
        final StoreEntry installed = publisher.publishLoaded(loaded, ConsistencyType.CAUSAL);
        return installed != null ? installed : copies.current(key);
    }
}
