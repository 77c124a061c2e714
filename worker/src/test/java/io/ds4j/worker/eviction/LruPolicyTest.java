package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** {@link LruPolicy}: the lazily repaired heap must evict in exactly the order of a textbook LRU. */
class LruPolicyTest
{
    /** The reference: a LinkedHashMap in access order, eldest first. */
    private static final class Model
    {
        private final Map<Integer, EvictionPolicy.Node<Integer>> map = new LinkedHashMap<>(16, 0.75f, true);

        void admit(final int key, final EvictionPolicy.Node<Integer> node)
        {
            map.put(key, node);
        }

        void access(final int key)
        {
            map.get(key);
        }

        void remove(final int key)
        {
            map.remove(key);
        }

        EvictionPolicy.Node<Integer> eldest()
        {
            return map.isEmpty() ? null : map.values().iterator().next();
        }
    }

    @Test
    void evictionOrderEqualsLinkedHashMapModelOnRandomTrace()
    {
        for (final long seed : new long[] {1, 2, 3, 42, 4711})
        {
            final SplittableRandom random = new SplittableRandom(seed);
            final LruPolicy<Integer> policy = new LruPolicy<>();
            final Model model = new Model();
            final List<EvictionPolicy.Node<Integer>> live = new ArrayList<>();
            int nextKey = 0;
            int evictions = 0;
            for (int step = 0; step < 200_000; step++)
            {
                final int op = random.nextInt(100);
                if (op < 25 || live.isEmpty())
                {
                    final EvictionPolicy.Node<Integer> node = policy.admit(nextKey, 1 + random.nextInt(1000));
                    model.admit(nextKey++, node);
                    live.add(node);
                }
                else if (op < 70)
                {
                    // Skewed touches, so that some nodes are touched many times between two evictions.
                    final int i = (int) (live.size() * Math.pow(random.nextDouble(), 3));
                    final EvictionPolicy.Node<Integer> node = live.get(i);
                    node.touch();
                    model.access(node.item());
                }
                else if (op < 90)
                {
                    final EvictionPolicy.Node<Integer> candidate = policy.nextCandidate();
                    assertSame(model.eldest(), candidate, "seed " + seed + " step " + step);
                    if (random.nextInt(10) == 0)
                    {
                        policy.skip(candidate);
                        model.access(candidate.item());
                    }
                    else
                    {
                        policy.remove(candidate);
                        model.remove(candidate.item());
                        live.remove(candidate);
                        evictions++;
                    }
                }
                else
                {
                    final EvictionPolicy.Node<Integer> node = live.remove(random.nextInt(live.size()));
                    policy.remove(node);
                    model.remove(node.item());
                }
                assertEquals(live.size(), policy.size());
            }
            // Drain: the whole remaining order must match too.
            for (EvictionPolicy.Node<Integer> c = policy.nextCandidate(); c != null; c = policy.nextCandidate())
            {
                assertSame(model.eldest(), c, "seed " + seed + " drain");
                policy.remove(c);
                model.remove(c.item());
            }
            assertNull(model.eldest());
            assertEquals(0, policy.size());
            assertEquals(true, evictions > 10_000);
        }
    }

    /** The case that defeats the usual lazy list (move a touched tail to the head when met): touched C, then A. */
    @Test
    void nodesTouchedOutOfOrderAreEvictedInTouchOrder()
    {
        final LruPolicy<String> policy = new LruPolicy<>();
        final EvictionPolicy.Node<String> a = policy.admit("a", 1);
        final EvictionPolicy.Node<String> b = policy.admit("b", 1);
        final EvictionPolicy.Node<String> c = policy.admit("c", 1);
        c.touch();
        a.touch();
        // A lazy list would meet a (stale) first, move it to the head, then meet c and put it ahead of a.
        assertSame(b, policy.nextCandidate());
        policy.remove(b);
        assertSame(c, policy.nextCandidate());
        policy.remove(c);
        assertSame(a, policy.nextCandidate());
        policy.remove(a);
        assertNull(policy.nextCandidate());
    }

    @Test
    void candidateIsStableUntilRemovedOrSkipped()
    {
        final LruPolicy<String> policy = new LruPolicy<>();
        final EvictionPolicy.Node<String> a = policy.admit("a", 1);
        final EvictionPolicy.Node<String> b = policy.admit("b", 1);
        assertSame(a, policy.nextCandidate());
        assertSame(a, policy.nextCandidate());
        assertEquals(2, policy.size());
        policy.skip(a);
        assertSame(b, policy.nextCandidate());
        assertEquals("lru", policy.name());
    }
}
