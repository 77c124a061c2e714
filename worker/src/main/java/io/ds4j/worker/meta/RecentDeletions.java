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
 *
 * <p>A version whose retirement could not reach one of its holders (paused, or cut off) is kept longer
 * ({@link #rememberUnreached}): that holder still has the copy, and reports it when it is back, which may be as late
 * as {@code node_timeout_s + node_dead_timeout_s} later (after that it is declared dead and its copies are counted
 * lost). The fault suite's PAUSE run caught a deleted value brought back by such a report 25 s after the delete.
 */
final class RecentDeletions
{
    static final long MEMORY_MS = 5_000;
    private static final int PURGE_AT = 4_096;

    private record Deleted(long version, long untilMs)
    {
    }

    private final ConcurrentHashMap<String, Deleted> deleted = new ConcurrentHashMap<>();
    private volatile long unreachedMemoryMs = MEMORY_MS;

    /** How long a version whose retirement missed a holder is remembered (see the class comment). */
    void unreachedMemory(final long memoryMs)
    {
        unreachedMemoryMs = Math.max(MEMORY_MS, memoryMs);
    }

    void remember(final String key, final long version)
    {
        remember(key, version, MEMORY_MS);
    }

    /** Versions of the key up to {@code version} are gone, but a holder was not told and may report one back. */
    void rememberUnreached(final String key, final long version)
    {
        remember(key, version, unreachedMemoryMs);
    }

    private void remember(final String key, final long version, final long memoryMs)
    {
        final long now = System.currentTimeMillis();
        deleted.merge(key, new Deleted(version, now + memoryMs), (old, fresh) ->
            new Deleted(Math.max(old.version, fresh.version), Math.max(old.untilMs, fresh.untilMs)));
        if (deleted.size() > PURGE_AT)
        {
            deleted.values().removeIf(gone -> now >= gone.untilMs);
        }
    }

    /** Whether {@code version} of the key, or a newer one, was deleted a moment ago. */
    boolean covers(final String key, final long version, final long nowMs)
    {
        final Deleted gone = deleted.get(key);
        return gone != null && gone.version >= version && nowMs < gone.untilMs;
    }

    /** Gives up the recent deletions of the keys {@code mine} rejects, each as a handover for the key's new owner. */
    void handOver(final Predicate<String> mine, final long nowMs, final Consumer<KeyHandover> leaving)
    {
        for (final Map.Entry<String, Deleted> gone : deleted.entrySet())
        {
            if (!mine.test(gone.getKey()) && deleted.remove(gone.getKey(), gone.getValue())
                && nowMs < gone.getValue().untilMs)
            {
                leaving.accept(new KeyHandover(gone.getKey(), null, List.of(), Map.of(), gone.getValue().version));
            }
        }
    }
}
