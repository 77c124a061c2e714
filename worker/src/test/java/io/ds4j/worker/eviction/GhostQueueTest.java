package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** {@link GhostQueue} against a straightforward model: a deque of (fingerprint, bytes) plus a map. */
class GhostQueueTest
{
    @Test
    void fifoOrderByteBudgetAndHits()
    {
        final GhostQueue ghost = new GhostQueue();
        ghost.add(1, 10);
        ghost.add(2, 20);
        ghost.add(3, 30);
        assertEquals(60, ghost.bytes());
        ghost.trim(50);
        assertFalse(ghost.removeIfPresent(1), "the oldest goes first");
        assertEquals(50, ghost.bytes());
        assertTrue(ghost.removeIfPresent(3));
        assertFalse(ghost.removeIfPresent(3), "a hit is used up");
        assertEquals(20, ghost.bytes());
        ghost.add(2, 5);
        assertEquals(5, ghost.bytes(), "a newer entry replaces an older one of the same fingerprint");
        assertEquals(1, ghost.size());
    }

    @Test
    void randomOperationsMatchModelAndMemoryStaysBounded()
    {
        final SplittableRandom random = new SplittableRandom(99);
        final GhostQueue ghost = new GhostQueue();
        final Deque<long[]> order = new ArrayDeque<>();
        final Map<Integer, long[]> live = new HashMap<>();
        long bytes = 0;
        for (int step = 0; step < 300_000; step++)
        {
            final int fingerprint = 1 + random.nextInt(5000);
            final int op = random.nextInt(10);
            if (op < 5)
            {
                final long size = 1 + random.nextInt(100);
                final long[] old = live.remove(fingerprint);
                if (old != null)
                {
                    bytes -= old[1];
                    old[1] = -1;
                }
                final long[] entry = {fingerprint, size};
                order.addLast(entry);
                live.put(fingerprint, entry);
                bytes += size;
                ghost.add(fingerprint, size);
            }
            else if (op < 9)
            {
                final long[] old = live.remove(fingerprint);
                if (old != null)
                {
                    bytes -= old[1];
                    old[1] = -1;
                }
                assertEquals(old != null, ghost.removeIfPresent(fingerprint), "step " + step);
            }
            else
            {
                final long budget = random.nextInt(20_000);
                while (bytes > budget && !order.isEmpty())
                {
                    final long[] head = order.removeFirst();
                    if (head[1] >= 0)
                    {
                        live.remove((int) head[0]);
                        bytes -= head[1];
                    }
                }
                ghost.trim(budget);
            }
            assertEquals(bytes, ghost.bytes(), "step " + step);
            assertEquals(live.size(), ghost.size(), "step " + step);
        }
        // At most 5000 fingerprints live at once; dead entries are compacted away rather than grown over.
        assertTrue(ghost.ringCapacity() <= 16_384, "ring " + ghost.ringCapacity());
    }
}
