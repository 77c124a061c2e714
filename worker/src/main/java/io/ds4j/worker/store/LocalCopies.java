package io.ds4j.worker.store;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The copies this node holds, one per key: the primary copies written here and the replicas pulled from other
 * workers. A local hit is a lookup here and nothing else. A copy stays current until the key's owner retires its
 * version ({@link #retire}), a newer local write replaces it ({@link #install}), or the evictor drops it.
 *
 * <p>An owner may retire a version before the copy arrives here: a replica that was being pulled, or a primary
 * whose writer was overtaken by a writer on another worker. Every retirement is remembered for a few seconds (a
 * tombstone) so that such a late install is refused. Both the check
 * and the removal run inside the map's per-key compute, so a retirement and an install of one key never interleave.
 */
public final class LocalCopies
{
    /** Told about every entry that stops being one of this node's copies, exactly once per entry. */
    @FunctionalInterface
    public interface RemovalListener
    {
        /** @param replacement the entry that replaced it when {@code why} is REPLACED by a local write, else null */
        void removed(StoreEntry entry, Removal why, StoreEntry replacement);
    }

    /** A retired version with no copy here (yet), and when it was retired. */
    private record Tombstone(long version, long atMs)
    {
    }

    /** How long a retirement is remembered (see {@link #retire}). */
    public static final long TOMBSTONE_MS = 5_000;

    private final ConcurrentHashMap<String, StoreEntry> entries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Tombstone> tombstones = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<RemovalListener> listeners = new CopyOnWriteArrayList<>();

    /** Listeners run in the order added (the store first, so the tiers let go before anything else). */
    public void addRemovalListener(final RemovalListener listener)
    {
        listeners.add(listener);
    }

    private void tell(final StoreEntry entry, final Removal why, final StoreEntry replacement)
    {
        for (final RemovalListener listener : listeners)
        {
            listener.removed(entry, why, replacement);
        }
    }

    /** This node's current, unexpired copy of the key, or null. */
    public StoreEntry current(final String key)
    {
        final StoreEntry entry = entries.get(key);
        return entry == null || entry.isExpired(System.currentTimeMillis()) ? null : entry;
    }

    /**
     * This node's copy of at least {@code version}, waiting up to {@code timeoutNanos} for it: the owner names a
     * version as soon as it recorded it, a moment before its writer here installs it. Null when it does not come
     * (the writer was overtaken, or the copy is gone).
     */
    public StoreEntry awaitVersion(final String key, final long version, final long timeoutNanos)
    {
        final long deadline = System.nanoTime() + timeoutNanos;
        while (true)
        {
            final StoreEntry entry = current(key);
            if (entry != null && entry.version() >= version)
            {
                return entry;
            }
            if (System.nanoTime() - deadline > 0)
            {
                return null;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
    }

    /** The copy of the key whatever its expiry (the expiry path and tests). */
    public StoreEntry any(final String key)
    {
        return entries.get(key);
    }

    /**
     * Makes {@code entry} this node's copy of its key, replacing an older one. Refused (false) when a copy of the
     * same or a newer version is here, or the owner already retired this version; the caller then still owns the
     * entry and must let it go.
     */
    public boolean install(final StoreEntry entry)
    {
        final StoreEntry[] replaced = new StoreEntry[1];
        final boolean[] installed = new boolean[1];
        entries.compute(entry.key(), (key, current) ->
        {
            final Tombstone retired = tombstones.get(key);
            if (retired != null && retired.version >= entry.version())
            {
                return current;
            }
            if (current != null && current.version() >= entry.version())
            {
                return current;
            }
            replaced[0] = current;
            installed[0] = true;
            return entry;
        });
        if (replaced[0] != null)
        {
            tell(replaced[0], Removal.REPLACED, entry);
        }
        return installed[0];
    }

    /**
     * The owner says versions of {@code key} up to {@code version} are no longer current: the copy goes if it is one
     * of them, and a later install of such a version is refused. Returns the removed copy, or null.
     *
     * <p>The retirement is remembered whether or not a copy was here: two readers on this node may pull the same
     * version at once, both registered with the owner before it retired that version, and the second install comes
     * after the retirement removed the first. Tombstones are kept for {@link #TOMBSTONE_MS}: an install follows its
     * registration with the owner within microseconds, so none can still be in flight by then.
     */
    public StoreEntry retire(final String key, final long version, final Removal why)
    {
        final StoreEntry[] removed = new StoreEntry[1];
        entries.compute(key, (k, current) ->
        {
            tombstones.merge(k, new Tombstone(version, System.currentTimeMillis()),
                (old, fresh) -> old.version >= fresh.version ? old : fresh);
            if (current != null && current.version() <= version)
            {
                removed[0] = current;
                return null;
            }
            return current;
        });
        if (removed[0] != null)
        {
            tell(removed[0], why, null);
        }
        return removed[0];
    }

    /** Removes {@code entry} if it is still this node's copy of its key (eviction, NX lost, expiry). */
    public boolean removeIfCurrent(final StoreEntry entry, final Removal why)
    {
        if (entries.remove(entry.key(), entry))
        {
            tell(entry, why, null);
            return true;
        }
        return false;
    }

    /**
     * Tells the listeners about an entry that is not (or no longer) installed here: DISCARDED when it never became
     * current, REPLACED when its owner recorded it but a newer write retired it before it was installed here.
     */
    public void discard(final StoreEntry entry, final Removal why)
    {
        tell(entry, why, null);
    }

    /** Drops tombstones older than {@link #TOMBSTONE_MS}: by then every install they could refuse has landed. */
    public void purgeTombstones()
    {
        if (tombstones.isEmpty())
        {
            return;
        }
        final long cutoff = System.currentTimeMillis() - TOMBSTONE_MS;
        tombstones.values().removeIf(tombstone -> tombstone.atMs < cutoff);
    }

    /** Calls {@code action} with every copy installed here (expired ones included: the owner decides). */
    public void forEach(final java.util.function.Consumer<StoreEntry> action)
    {
        entries.values().forEach(action);
    }

    /** Number of copies here. */
    public int size()
    {
        return entries.size();
    }
}
