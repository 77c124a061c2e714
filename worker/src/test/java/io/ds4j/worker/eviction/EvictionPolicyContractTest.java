package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What every {@link EvictionPolicy} promises, checked on each implementation. */
class EvictionPolicyContractTest
{
    static Stream<Supplier<EvictionPolicy<String>>> policies()
    {
        return Stream.of(LruPolicy::new, S3FifoPolicy::new);
    }

    @ParameterizedTest
    @MethodSource("policies")
    void emptyPolicyHasNoCandidate(final Supplier<EvictionPolicy<String>> factory)
    {
        final EvictionPolicy<String> policy = factory.get();
        assertNull(policy.nextCandidate());
        assertEquals(0, policy.size());
        final EvictionPolicy.Node<String> a = policy.admit("a", 10);
        assertSame(a, policy.nextCandidate());
        policy.remove(a);
        assertNull(policy.nextCandidate());
        assertEquals(0, policy.size());
    }

    @ParameterizedTest
    @MethodSource("policies")
    void removeIsIdempotentAndTouchAfterRemoveIsHarmless(final Supplier<EvictionPolicy<String>> factory)
    {
        final EvictionPolicy<String> policy = factory.get();
        final EvictionPolicy.Node<String> a = policy.admit("a", 10);
        final EvictionPolicy.Node<String> b = policy.admit("b", 10);
        final EvictionPolicy.Node<String> c = policy.admit("c", 10);
        policy.remove(b);
        policy.remove(b);
        b.touch();
        policy.skip(b);
        assertEquals(2, policy.size());
        assertEquals("b", b.item());
        final Set<String> drained = new HashSet<>();
        for (EvictionPolicy.Node<String> n = policy.nextCandidate(); n != null; n = policy.nextCandidate())
        {
            drained.add(n.item());
            policy.remove(n);
            policy.remove(n);
        }
        assertEquals(Set.of(a.item(), c.item()), drained);
        assertEquals(0, policy.size());
    }

    @ParameterizedTest
    @MethodSource("policies")
    void skippedNodeIsOfferedAfterTheOthers(final Supplier<EvictionPolicy<String>> factory)
    {
        final EvictionPolicy<String> policy = factory.get();
        for (int i = 0; i < 20; i++)
        {
            policy.admit("k" + i, 100);
        }
        final EvictionPolicy.Node<String> pinned = policy.nextCandidate();
        policy.skip(pinned);
        for (int i = 0; i < 19; i++)
        {
            final EvictionPolicy.Node<String> next = policy.nextCandidate();
            assertTrue(next != pinned, "offered again after " + i);
            policy.remove(next);
        }
        assertSame(pinned, policy.nextCandidate());
    }

    @ParameterizedTest
    @MethodSource("policies")
    void removeAnywhereIsConstantOrLogTime(final Supplier<EvictionPolicy<String>> factory)
    {
        final EvictionPolicy<String> policy = factory.get();
        final int n = 200_000;
        final List<EvictionPolicy.Node<String>> nodes = new ArrayList<>(n);
        for (int i = 0; i < n; i++)
        {
            nodes.add(policy.admit(Integer.toString(i), 1));
        }
        final SplittableRandom random = new SplittableRandom(3);
        for (int i = n - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            nodes.set(i, nodes.set(j, nodes.get(i)));
        }
        // A linear-time remove would need ~2e10 steps here; O(1) or O(log n) finishes in milliseconds.
        assertTimeout(Duration.ofSeconds(5), () ->
        {
            for (int i = 0; i < n - 1; i++)
            {
                policy.remove(nodes.get(i));
            }
        });
        assertEquals(1, policy.size());
        assertSame(nodes.get(n - 1), policy.nextCandidate());
    }

    /** Four threads hit nodes (live or removed) while one thread admits, evicts, skips and deletes. */
    @ParameterizedTest
    @MethodSource("policies")
    void concurrentTouchesDuringEvictionKeepSizeConsistent(final Supplier<EvictionPolicy<String>> factory)
        throws InterruptedException
    {
        final EvictionPolicy<String> policy = factory.get();
        final AtomicReferenceArray<EvictionPolicy.Node<String>> slots = new AtomicReferenceArray<>(4096);
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++)
        {
            threads.add(Thread.ofPlatform().start(() ->
            {
                try
                {
                    final ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (!stop.get())
                    {
                        final EvictionPolicy.Node<String> node = slots.get(random.nextInt(slots.length()));
                        if (node != null)
                        {
                            node.touch();
                        }
                    }
                }
                catch (final Throwable e)
                {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        final Set<EvictionPolicy.Node<String>> live = new HashSet<>();
        final SplittableRandom random = new SplittableRandom(11);
        long operations = 0;
        final long deadline = System.nanoTime() + 1_500_000_000L;
        try
        {
            int key = 0;
            while (System.nanoTime() < deadline && failure.get() == null)
            {
                for (int i = 0; i < 1000; i++, operations++)
                {
                    final int op = random.nextInt(10);
                    if (op < 5 || live.isEmpty())
                    {
                        final EvictionPolicy.Node<String> node = policy.admit("k" + key++, 1 + random.nextInt(4096));
                        live.add(node);
                        slots.set(random.nextInt(slots.length()), node);
                    }
                    else if (op < 9)
                    {
                        final EvictionPolicy.Node<String> candidate = policy.nextCandidate();
                        assertNotNull(candidate);
                        assertTrue(live.contains(candidate), "candidate not tracked: " + candidate);
                        if (random.nextInt(8) == 0)
                        {
                            policy.skip(candidate);
                        }
                        else
                        {
                            policy.remove(candidate);
                            live.remove(candidate);
                        }
                    }
                    else
                    {
                        final EvictionPolicy.Node<String> any = slots.get(random.nextInt(slots.length()));
                        if (any != null)
                        {
                            // Possibly already gone: remove must be idempotent.
                            policy.remove(any);
                            live.remove(any);
                        }
                    }
                    assertEquals(live.size(), policy.size());
                }
            }
        }
        finally
        {
            stop.set(true);
            for (final Thread thread : threads)
            {
                thread.join();
            }
        }
        assertNull(failure.get());
        assertTrue(operations > 10_000, "only " + operations + " operations");
        for (EvictionPolicy.Node<String> n = policy.nextCandidate(); n != null; n = policy.nextCandidate())
        {
            assertTrue(live.remove(n));
            policy.remove(n);
        }
        assertTrue(live.isEmpty());
        assertEquals(0, policy.size());
    }
}
