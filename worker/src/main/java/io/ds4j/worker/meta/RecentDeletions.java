package io.ds4j.worker.meta;

import io.ds4j.common.KeyHandover;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The version each key had when its owner deleted it, kept for {@link #MEMORY_MS}. A reader that found the key in L2
 * just before the delete removed it there, or a holder reporting a copy the delete has not reached yet, would
 * otherwise bring that version back after the delete was acknowledged. Moves with the key's range.
 */
final class RecentDeletions
{
    static final long MEMORY_MS = 5_000;
    private static final int PURGE_AT = 4_096;

    private record Deleted(long version, long atMs)
    {
    }

    private final ConcurrentHashMap<String, Deleted> deleted = new ConcurrentHashMap<>();

    void remember(final String key, final long version)
    {
        final long now = System.currentTimeMillis();
        deleted.merge(key, new Deleted(version, now), (old, fresh) -> old.version >= fresh.version ? old : fresh);
        if (deleted.size() > PURGE_AT)
        {
            deleted.values().removeIf(gone -> now - gone.atMs >= MEMORY_MS);
        }
    }

    /** Whether {@code version} of the key, or a newer one, was deleted a moment ago. */
    boolean covers(final String key, final long version, final long nowMs)
    {
        final Deleted gone = deleted.get(key);
        return gone != null && gone.version >= version && nowMs - gone.atMs < MEMORY_MS;
    }

    /** Gives up the recent deletions of the keys {@code mine} rejects, each as a handover for the key's new owner. */
    void handOver(final Predicate<String> mine, final long nowMs, final Consumer<KeyHandover> leaving)
    {
        for (final Map.Entry<String, Deleted> gone : deleted.entrySet())
        {
            if (!mine.test(gone.getKey()) && deleted.remove(gone.getKey(), gone.getValue())
                && nowMs - gone.getValue().atMs < MEMORY_MS)
            {
                leaving.accept(new KeyHandover(gone.getKey(), null, List.of(), Map.of(), gone.getValue().version));
            }
        }
    }
}
