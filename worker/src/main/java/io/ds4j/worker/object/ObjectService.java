package io.ds4j.worker.object;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.meta.MetadataOwner.RefChange;
import io.ds4j.worker.meta.MetadataOwner.RefOp;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.Value;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The object interface (spec §1.4) on top of the tiered store and the metadata owner, independent of the wire.
 * Objects share the key space and the metadata entries with KV; what objects add lives here:
 * <ul>
 *   <li>publishing and republishing: a republish of the object that is still a key's current value makes a new
 *   version of that same allocation (PRAM: the bytes are already visible), sealing makes it immutable;</li>
 *   <li>global reference counts per key and holder (a session, a remote client id, or a parent object's nested
 *   reference); the key is deleted when its count falls from above 0 to 0;</li>
 *   <li>undoing the latches of a client whose session ended.</li>
 * </ul>
 *
 * <p>Locking: one monitor guards the reference tables and every {@link ObjectState#nested} list. Nothing calls the
 * metadata owner or the store while holding it, because the removal listener ({@link #removed}) runs inside their
 * calls, sometimes with a store stripe lock held; deletions a count of 0 asks for are made after the monitor is
 * released.
 */
public final class ObjectService
{
    private static final Logger LOG = LoggerFactory.getLogger(ObjectService.class);
    /** Nested keys per publish: the read-batch limit, as for every other key list. */
    public static final int MAX_NESTED_KEYS = KeyRules.MAX_READ_BATCH;
    /** A key whose entry is replaced under us again and again is given up on after this many looks. */
    private static final int LOOKUP_ATTEMPTS = 4;

    /**
     * The latches an ended session still held in one object's header, with a reference to the object that keeps the
     * header in place until they are undone (the session hands it over).
     */
    public record LatchUndo(StoredObject object, int writers, int readers)
    {
    }

    /** A found object, retained for the caller: its bytes, its version and whether it is sealed. */
    public record Found(Value value, long version, boolean sealed)
    {
    }

    private final DataPlane data;
    private final TieredStore store;
    private final LocalCopies copies;
    private final MetadataOwner metadata;
    private final MemorySegment pool;
    private final Object lock = new Object();
    /**
     * The keys each session or remote holder of this worker took references on, so they can be given back when it
     * ends; the counts themselves live at each key's owner. Guarded by {@link #lock}.
     */
    private final Map<String, Set<String>> keysByHolder = new HashMap<>();
    /** Deletions asked for while this thread is already deleting: drained by the outer call, not recursively. */
    private final ThreadLocal<ArrayDeque<String>> cascade = new ThreadLocal<>();

    /** Joins the data plane: it hears of every copy that stops being current here, after the tiers. */
    public ObjectService(final DataPlane data)
    {
        this.data = data;
        this.store = data.store();
        this.copies = data.copies();
        this.metadata = data.owner();
        this.pool = store.pool().segment();
        copies.addRemovalListener(this::removed);
        data.resolver().objectAttachment((consistency, sealed) ->
        {
            final ObjectState state = new ObjectState(consistency);
            if (sealed)
            {
                state.seal();
            }
            return state;
        });
    }

    public TieredStore store()
    {
        return store;
    }

    // ------------------------------------------------------------------ holder ids

    /** The holder of references a session takes for itself; released when the session ends. */
    public static String sessionHolder(final long clientId)
    {
        return "session:" + clientId;
    }

    /** The holder of references taken for a remote client id; kept until releaseGRefs of that id. */
    public static String remoteHolder(final String remoteClientId)
    {
        return "remote:" + remoteClientId;
    }

    /** The holder of the references a parent object holds on its nested children. */
    public static String nestedHolder(final String parentKey)
    {
        return "nested:" + parentKey;
    }

    private static String describe(final String holder)
    {
        if (holder.startsWith("session:"))
        {
            return "client " + holder.substring("session:".length());
        }
        if (holder.startsWith("remote:"))
        {
            return "remote client " + holder.substring("remote:".length());
        }
        return "parent object " + holder.substring("nested:".length());
    }

    // ------------------------------------------------------------------ writes

    /** A region for {@code key}, filled in place by the client; the caller owns its one reference. */
    public StoredObject create(final String key, final long size)
    {
        KeyRules.check(key);
        if (size < 0)
        {
            throw new DsException(StatusCode.INVALID, "size of " + key + " is negative: " + size);
        }
        return store.allocate(size);
    }

    /**
     * The first publish of a created object: it becomes the key's current value. The caller keeps its reference
     * (it becomes the creator's view, or is dropped); the key takes one of its own.
     *
     * @return the new version
     * @throws DsException NOT_FOUND for a nested key that does not exist (then nothing was taken or published)
     */
    public long publishCreated(final String key, final StoredObject object, final ConsistencyType consistency,
        final boolean seal, final List<String> nestedKeys)
    {
        KeyRules.check(key);
        final List<String> nested = checkNested(key, nestedKeys);
        return install(key, object, new ObjectState(consistency), seal, nested, null, WriteMode.NONE_L2_CACHE, 0);
    }

    /**
     * A republish of an object a client holds a view of: if it is still the key's current value, the same
     * allocation becomes a new version (nested keys add to those it already has; seal makes it immutable).
     *
     * @throws DsException OC_OBJECT_NOT_IN_USED when the key's current value is another object (replaced, deleted,
     *                     expired); OC_ALREADY_SEALED when the object is sealed
     */
    public long republish(final String key, final StoredObject object, final boolean seal,
        final List<String> nestedKeys)
    {
        KeyRules.check(key);
        final List<String> nested = checkNested(key, nestedKeys);
        final StoreEntry current = copies.current(key);
        if (current == null || current.memory() != object)
        {
            throw notInUse(key);
        }
        return replace(current, object, seal, nested);
    }

    /**
     * An object sent inline (put, or a buffer published over TCP). With {@code expectVersion != 0} it is the
     * republish of the version the client got: that version must still be current and not sealed; the new bytes
     * become a new version carrying the object's nested references.
     */
    public long put(final String key, final MemorySegment value, final ConsistencyType consistency,
        final boolean seal, final long expectVersion, final List<String> nestedKeys)
    {
        KeyRules.check(key);
        final List<String> nested = checkNested(key, nestedKeys);
        StoreEntry current = null;
        if (expectVersion != 0)
        {
            current = copies.current(key);
            if (current == null || current.version() != expectVersion)
            {
                throw notInUse(key);
            }
            final ObjectState old = (ObjectState) current.attachment();
            if (old != null && old.sealed())
            {
                return sealedAgain(current, seal, nested);
            }
        }
        final StoredObject object = store.allocate(value.byteSize());
        try
        {
            MemorySegment.copy(value, 0, object.data(), 0, value.byteSize());
            return current == null
                ? install(key, object, new ObjectState(consistency), seal, nested, null, WriteMode.NONE_L2_CACHE, 0)
                : replace(current, object, seal, nested);
        }
        finally
        {
            object.release(); // the key holds its own reference now, or the object was never installed
        }
    }

    private static DsException notInUse(final String key)
    {
        return new DsException(StatusCode.OC_OBJECT_NOT_IN_USED, "this buffer is no longer the current object of "
            + key + " (the key was replaced, deleted or expired since); get it again");
    }

    /** Installs {@code object} as the successor of {@code current}, carrying its state and nested references. */
    private long replace(final StoreEntry current, final StoredObject object, final boolean seal,
        final List<String> nested)
    {
        final ObjectState old = (ObjectState) current.attachment();
        if (old != null && old.sealed())
        {
            return sealedAgain(current, seal, nested);
        }
        final List<String> fresh = new ArrayList<>(nested);
        if (old != null)
        {
            synchronized (lock)
            {
                fresh.removeAll(old.nested);
            }
        }
        final ObjectState state = new ObjectState(old != null ? old.consistency() : ConsistencyType.CAUSAL);
        return install(current.key(), object, state, seal, fresh, current, current.writeMode(),
            current.expiresAtMs());
    }

    /**
     * A sealed object stays as it is: sealing it again with nothing new succeeds (a retried seal, or a second
     * process sealing), anything else is OC_ALREADY_SEALED.
     */
    private long sealedAgain(final StoreEntry current, final boolean seal, final List<String> nested)
    {
        final boolean nothingNew;
        synchronized (lock)
        {
            nothingNew = ((ObjectState) current.attachment()).nested.containsAll(nested);
        }
        if (seal && nothingNew)
        {
            return current.version();
        }
        throw new DsException(StatusCode.OC_ALREADY_SEALED, "object " + current.key() + " is sealed: it cannot be"
            + " changed or published again");
    }

    /**
     * Takes the nested references, then publishes {@code object} as a new version of {@code key}. {@code carryFrom}
     * is the entry this one succeeds (a republish): its nested references move to the new entry, so the removal
     * of the old one does not release them.
     */
    private long install(final String key, final StoredObject object, final ObjectState state, final boolean seal,
        final List<String> toTake, final StoreEntry carryFrom, final WriteMode writeMode, final long expiresAtMs)
    {
        takeNestedRefs(toTake, nestedHolder(key));
        final List<String> carried = new ArrayList<>();
        final ObjectState from = carryFrom == null ? null : (ObjectState) carryFrom.attachment();
        synchronized (lock)
        {
            state.nested.addAll(toTake);
            if (from != null && !carryFrom.removed())
            {
                carried.addAll(from.nested);
                state.nested.addAll(from.nested);
                from.nested = new ArrayList<>();
            }
        }
        boolean published = false;
        try
        {
            if (!object.tryRetain())
            {
                throw new DsException(StatusCode.BUFFER_DEPRECATED, "the object of " + key + " was freed");
            }
            if (seal)
            {
                state.seal();
            }
            // existence NONE always publishes; the old entry's removal (REPLACED) finds its nested list moved
            final StoreEntry entry = data.publisher().publish(key, object, writeMode, expiresAtMs, ExistenceOpt.NONE,
                state.consistency(), state);
            published = true;
            return entry.version();
        }
        finally
        {
            if (!published)
            {
                final List<String> giveBack;
                synchronized (lock)
                {
                    // give the carried references back to the entry they came from, the new ones back to nobody
                    if (from != null && !carryFrom.removed())
                    {
                        from.nested.addAll(carried);
                        state.nested.removeAll(carried);
                    }
                    giveBack = state.nested;
                    state.nested = new ArrayList<>();
                }
                releaseNested(giveBack, nestedHolder(key));
            }
        }
    }

    /** Validated, de-duplicated nested keys (INVALID for a bad key, the parent itself, or too many). */
    private static List<String> checkNested(final String parent, final List<String> nestedKeys)
    {
        if (nestedKeys == null || nestedKeys.isEmpty())
        {
            return List.of();
        }
        if (nestedKeys.size() > MAX_NESTED_KEYS)
        {
            throw new DsException(StatusCode.INVALID, "an object may name at most " + MAX_NESTED_KEYS
                + " nested keys per publish, not " + nestedKeys.size());
        }
        final LinkedHashSet<String> unique = new LinkedHashSet<>(nestedKeys);
        for (final String child : unique)
        {
            final String problem = KeyRules.problem(child);
            if (problem != null)
            {
                throw new DsException(StatusCode.INVALID, "invalid nested key: " + problem);
            }
            if (child.equals(parent))
            {
                throw new DsException(StatusCode.INVALID, "object " + parent + " names itself as a nested key");
            }
        }
        return List.copyOf(unique);
    }

    // ------------------------------------------------------------------ reads

    /**
     * Retained values of the keys (null where missing), waiting up to {@code subTimeoutMs} for missing ones, with
     * each one's version and sealed flag. Objects are never in L2 (they are NONE_L2_CACHE), so L2 is not consulted.
     */
    public Found[] get(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        KeyRules.checkReadBatch(keys);
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        final StoreEntry[] entries = new StoreEntry[keys.size()];
        final Value[] values = data.resolver().get(keys, subTimeoutMs, entries);
        final Found[] found = new Found[values.length];
        for (int i = 0; i < values.length; i++)
        {
            if (values[i] != null)
            {
                found[i] = found(entries[i], values[i]);
            }
        }
        return found;
    }

    private Found found(final StoreEntry entry, final Value value)
    {
        final ObjectState state = entry.attachment() instanceof ObjectState object ? object : null;
        final boolean sealed = state != null && state.sealed();
        final StoredObject pooled = value.pooled();
        if (sealed && pooled != null)
        {
            // a copy reloaded from spill (or pulled from another worker) was marked PUBLISHED: the header must say
            // what the object is
            pooled.markSealed();
        }
        return new Found(value, entry.version(), sealed);
    }

    // ------------------------------------------------------------------ global references

    /**
     * One more reference on {@code key} for {@code holder}, counted at the key's owner. As upstream, the key need not
     * exist yet (a reference may come before the object), and a holder counts once however often it increases.
     *
     * @throws DsException INVALID for a bad key
     */
    public void increaseRef(final String key, final String holder)
    {
        KeyRules.check(key);
        synchronized (lock)
        {
            keysByHolder.computeIfAbsent(holder, h -> new HashSet<>()).add(key);
        }
        metadata.changeRef(key, holder, RefOp.INCREASE, false);
    }

    /**
     * One reference less on {@code key} for {@code holder}; the key is deleted when its last holder lets go. A key
     * that does not exist is not a failure (upstream).
     *
     * @throws DsException INVALID for a bad key, or when the key exists and the holder holds no reference on it
     */
    public void decreaseRef(final String key, final String holder)
    {
        KeyRules.check(key);
        final RefChange change = metadata.changeRef(key, holder, RefOp.DECREASE, false);
        if (change.before() == 0)
        {
            if (!metadata.exists(key))
            {
                return;
            }
            throw new DsException(StatusCode.INVALID, describe(holder) + " holds no global reference on " + key
                + "; every gDecreaseRef must match an earlier gIncreaseRef of the same holder");
        }
        if (change.after() == 0)
        {
            forget(holder, key);
        }
        if (change.after() == 0 && change.holders() == 0)
        {
            deleteAll(List.of(key));
        }
    }

    private void forget(final String holder, final String key)
    {
        synchronized (lock)
        {
            final Set<String> keys = keysByHolder.get(holder);
            if (keys != null && keys.remove(key) && keys.isEmpty())
            {
                keysByHolder.remove(holder);
            }
        }
    }

    /** The key's global reference count: how many holders (clients, remote clients, parents) hold it. */
    public long refCount(final String key)
    {
        KeyRules.check(key);
        return metadata.refHolders(key);
    }

    /** Drops every reference of {@code holder}; keys left with no holder are deleted. Returns how many it held. */
    public long releaseHolder(final String holder)
    {
        final Set<String> keys;
        synchronized (lock)
        {
            keys = keysByHolder.remove(holder);
        }
        if (keys == null)
        {
            return 0;
        }
        final List<String> toDelete = new ArrayList<>();
        long released = 0;
        for (final String key : keys)
        {
            try
            {
                final RefChange change = metadata.changeRef(key, holder, RefOp.RELEASE_ALL, false);
                released += change.before();
                if (change.before() > 0 && change.holders() == 0)
                {
                    toDelete.add(key);
                }
            }
            catch (final RuntimeException e)
            {
                LOG.warn("could not release the references of {} on {}: {}", describe(holder), key, e.toString());
            }
        }
        deleteAll(toDelete);
        return released;
    }

    /**
     * One nested reference per key for the parent {@code holder}, all or none: every key must exist (NOT_FOUND
     * names the first that does not; the ones taken before it are given back).
     */
    private void takeNestedRefs(final List<String> keys, final String holder)
    {
        final List<String> taken = new ArrayList<>(keys.size());
        try
        {
            for (final String key : keys)
            {
                metadata.changeRef(key, holder, RefOp.INCREASE, true);
                taken.add(key);
            }
        }
        catch (final RuntimeException e)
        {
            // undone, not released: a child whose count returns to 0 here was never held by this publish
            for (final String key : taken)
            {
                metadata.changeRef(key, holder, RefOp.DECREASE, false);
            }
            throw e;
        }
    }

    /** Gives back one nested reference per child; children left with no holder are deleted. */
    private void releaseNested(final List<String> children, final String holder)
    {
        final List<String> toDelete = new ArrayList<>();
        for (final String child : children)
        {
            try
            {
                final RefChange change = metadata.changeRef(child, holder, RefOp.DECREASE, false);
                if (change.before() > 0 && change.after() == 0 && change.holders() == 0)
                {
                    toDelete.add(child);
                }
            }
            catch (final RuntimeException e)
            {
                LOG.warn("could not release the nested reference of {} on {}: {}", holder, child, e.toString());
            }
        }
        deleteAll(toDelete);
    }

    /** Deletes keys whose count reached 0; their removal may release nested references and delete more. */
    private void deleteAll(final Collection<String> keys)
    {
        if (keys.isEmpty())
        {
            return;
        }
        ArrayDeque<String> queue = cascade.get();
        if (queue != null)
        {
            queue.addAll(keys); // an outer deleteAll on this thread drains it: no recursion per nesting level
            return;
        }
        queue = new ArrayDeque<>(keys);
        cascade.set(queue);
        try
        {
            String key;
            while ((key = queue.poll()) != null)
            {
                try
                {
                    if (metadata.delete(key))
                    {
                        LOG.debug("object {} deleted: its global reference count reached 0", key);
                    }
                }
                catch (final RuntimeException e)
                {
                    LOG.warn("deleting {} after its reference count reached 0 failed: {}", key, e.toString());
                }
            }
        }
        finally
        {
            cascade.remove();
        }
    }

    // ------------------------------------------------------------------ removal and session end

    /**
     * The metadata owner's removal listener (after the store's): an entry that stops being current releases the
     * nested references it holds (unless a republish moved them on); a key that ends (anything but a replacement)
     * loses its reference table.
     */
    private void removed(final StoreEntry entry, final Removal why, final StoreEntry replacement)
    {
        if (why == Removal.DISCARDED || why == Removal.ABANDONED)
        {
            return; // never current: the publish that made it gives its references back itself
        }
        final ObjectState state = (ObjectState) entry.attachment();
        if (state == null && (why == Removal.REPLACED || why == Removal.REPLACED_DURABLY))
        {
            return; // a KV value overwritten: no nested references, and the key's counts stay (the hot path)
        }
        if (state == null || state.nested.isEmpty())
        {
            return; // the key's counts at its owner go when the key ends there
        }
        final List<String> children;
        synchronized (lock)
        {
            children = state.nested;
            state.nested = new ArrayList<>();
        }
        if (why == Removal.DROPPED)
        {
            // the evictor calls with a stripe lock held: release elsewhere rather than call owners under it
            Thread.ofVirtual().name("ds4j-object-cascade").start(() -> releaseNested(children,
                nestedHolder(entry.key())));
        }
        else
        {
            releaseNested(children, nestedHolder(entry.key()));
        }
    }

    /**
     * A session ended (its process is gone, or it said BYE) and its views were reclaimed: the latches it held are
     * undone in the object headers, and the references it took under its own id are released.
     */
    public void sessionEnded(final long clientId, final long pid, final List<LatchUndo> holds)
    {
        final int token = ObjectHeader.latchToken(clientId);
        int undone = 0;
        for (final LatchUndo hold : holds)
        {
            final StoredObject object = hold.object();
            if (object == null)
            {
                continue;
            }
            try
            {
                if (hold.writers() > 0 && ObjectHeader.releaseWriter(pool, object.headerOffset(), token))
                {
                    undone++;
                }
                if (hold.readers() > 0)
                {
                    undone += (int) ObjectHeader.releaseReaders(pool, object.headerOffset(), hold.readers());
                }
            }
            finally
            {
                object.release();
            }
        }
        final long refs = releaseHolder(sessionHolder(clientId));
        if (undone > 0 || refs > 0)
        {
            LOG.info("client {} (pid {}) ended: undid {} latch holds, released {} global references",
                clientId, pid, undone, refs);
        }
    }
}
