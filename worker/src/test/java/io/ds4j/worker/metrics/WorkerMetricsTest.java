package io.ds4j.worker.metrics;

import io.ds4j.worker.metrics.WorkerMetrics.Counter;
import io.ds4j.worker.metrics.WorkerMetrics.EvictionAction;
import io.ds4j.worker.metrics.WorkerMetrics.L2WriteResult;
import io.ds4j.worker.metrics.WorkerMetrics.Tier;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The metrics API and what a scrape shows, without HTTP (MetricsServerTest scrapes over HTTP). */
class WorkerMetricsTest
{
    /** Every family the worker exposes once all its callbacks are registered, with its type. */
    static final Map<String, String> FAMILIES = Map.ofEntries(
        Map.entry("ds4j_tier_bytes", "gauge"),
        Map.entry("ds4j_tier_objects", "gauge"),
        Map.entry("ds4j_hits_total", "counter"),
        Map.entry("ds4j_misses_total", "counter"),
        Map.entry("ds4j_evictions_total", "counter"),
        Map.entry("ds4j_spills_total", "counter"),
        Map.entry("ds4j_l2_queue_depth", "gauge"),
        Map.entry("ds4j_l2_writes_total", "counter"),
        Map.entry("ds4j_pool_capacity_bytes", "gauge"),
        Map.entry("ds4j_clients", "gauge"),
        Map.entry("ds4j_keys", "gauge"));

    private final WorkerMetrics metrics = new WorkerMetrics();

    private Map<String, ExpositionChecker.Family> scrape()
    {
        return ExpositionChecker.parse(metrics.scrape());
    }

    @Test
    void everyCounterSeriesShowsFromTheStartAtZero()
    {
        final Map<String, ExpositionChecker.Family> families = scrape();
        for (final Tier tier : Tier.values())
        {
            assertEquals(0, families.get("ds4j_hits_total").value("ds4j_hits_total", "tier", tier.label()));
        }
        for (final EvictionAction action : EvictionAction.values())
        {
            assertEquals(0, families.get("ds4j_evictions_total").value("ds4j_evictions_total", "action",
                action.label()));
        }
        assertEquals(Set.of("spill", "drop", "free_memory", "delete"), families.get("ds4j_evictions_total")
            .samples().stream().map(s -> s.labels().get("action")).collect(Collectors.toSet()));
        assertEquals(0, families.get("ds4j_l2_writes_total").value("ds4j_l2_writes_total", "result", "ok"));
        assertEquals(0, families.get("ds4j_l2_writes_total").value("ds4j_l2_writes_total", "result", "failed"));
        assertEquals(0, families.get("ds4j_misses_total").value("ds4j_misses_total"));
        assertEquals(0, families.get("ds4j_spills_total").value("ds4j_spills_total"));
        assertEquals("counter", families.get("ds4j_misses_total").type());
    }

    @Test
    void gaugesWithoutACallbackShowNoSample()
    {
        final Map<String, ExpositionChecker.Family> families = scrape();
        for (final String gauge : List.of("ds4j_tier_bytes", "ds4j_tier_objects", "ds4j_l2_queue_depth",
            "ds4j_pool_capacity_bytes", "ds4j_clients", "ds4j_keys"))
        {
            assertFalse(families.containsKey(gauge), gauge);
        }
        metrics.tierBytes(Tier.MEMORY, () -> 10);
        final ExpositionChecker.Family bytes = scrape().get("ds4j_tier_bytes");
        assertEquals(1, bytes.samples().size(), "only the tier with a callback: " + bytes);
        assertEquals(10, bytes.value("ds4j_tier_bytes", "tier", "memory"));
    }

    @Test
    void allFamiliesWithHelpTypeAndLiveValues()
    {
        final AtomicLong memoryBytes = new AtomicLong(4096);
        registerAll(metrics, memoryBytes);
        metrics.hits(Tier.SPILL).inc();
        metrics.hits(Tier.SPILL).add(2);
        metrics.misses().inc();
        metrics.evictions(EvictionAction.FREE_MEMORY).add(5);
        metrics.spills().inc();
        metrics.l2Writes(L2WriteResult.FAILED).inc();

        final String text = metrics.scrape();
        final Map<String, ExpositionChecker.Family> families = ExpositionChecker.parse(text);
        assertEquals(FAMILIES.keySet(), families.keySet());
        FAMILIES.forEach((name, type) ->
        {
            assertEquals(type, families.get(name).type(), name);
            assertFalse(families.get(name).help().isBlank(), name + " has a HELP line");
        });
        assertEquals(3, families.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "spill"));
        assertEquals(0, families.get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory"));
        assertEquals(1, families.get("ds4j_misses_total").value("ds4j_misses_total"));
        assertEquals(5, families.get("ds4j_evictions_total").value("ds4j_evictions_total", "action", "free_memory"));
        assertEquals(1, families.get("ds4j_spills_total").value("ds4j_spills_total"));
        assertEquals(1, families.get("ds4j_l2_writes_total").value("ds4j_l2_writes_total", "result", "failed"));
        assertEquals(4096, families.get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier", "memory"));
        assertEquals(2000, families.get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier", "spill"));
        assertEquals(3000, families.get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier", "l2"));
        assertEquals(7, families.get("ds4j_tier_objects").value("ds4j_tier_objects", "tier", "l2"));
        assertEquals(4, families.get("ds4j_l2_queue_depth").value("ds4j_l2_queue_depth"));
        assertEquals(1L << 30, families.get("ds4j_pool_capacity_bytes").value("ds4j_pool_capacity_bytes"));
        assertEquals(2, families.get("ds4j_clients").value("ds4j_clients"));
        assertEquals(11, families.get("ds4j_keys").value("ds4j_keys"));
        assertTrue(text.contains("# TYPE ds4j_hits_total counter\n"), text);
        assertTrue(text.contains("ds4j_hits_total{tier=\"spill\"} 3"), text);

        memoryBytes.set(8192);
        assertEquals(8192, scrape().get("ds4j_tier_bytes").value("ds4j_tier_bytes", "tier", "memory"),
            "gauges read their callback at every scrape");
    }

    /** Registers every gauge; memory bytes from {@code memoryBytes}, the rest constants. */
    static void registerAll(final WorkerMetrics metrics, final AtomicLong memoryBytes)
    {
        metrics.tierBytes(Tier.MEMORY, memoryBytes::get);
        metrics.tierBytes(Tier.SPILL, () -> 2000);
        metrics.tierBytes(Tier.L2, () -> 3000);
        metrics.tierObjects(Tier.MEMORY, () -> 5);
        metrics.tierObjects(Tier.SPILL, () -> 6);
        metrics.tierObjects(Tier.L2, () -> 7);
        metrics.l2QueueDepth(() -> 4);
        metrics.poolCapacityBytes(() -> 1L << 30);
        metrics.clients(() -> 2);
        metrics.keys(() -> 11);
    }

    @Test
    void handlesArePreResolvedAndStable()
    {
        assertSame(metrics.hits(Tier.MEMORY), metrics.hits(Tier.MEMORY));
        assertSame(metrics.evictions(EvictionAction.DROP), metrics.evictions(EvictionAction.DROP));
        assertSame(metrics.l2Writes(L2WriteResult.OK), metrics.l2Writes(L2WriteResult.OK));
        assertEquals("ds4j_hits_total{tier=\"l2\"}", metrics.hits(Tier.L2).toString());
    }

    @Test
    void aCounterNeverGoesDown()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> metrics.spills().add(-1));
        assertTrue(e.getMessage().contains("ds4j_spills_total"), e.getMessage());
        metrics.spills().add(0);
        assertEquals(0, metrics.spills().get());
    }

    @Test
    void aTrackedCountIsReportedLiveOnTopOfIncrements()
    {
        final LongAdder storeHits = new LongAdder();
        final Counter memoryHits = metrics.hits(Tier.MEMORY);
        memoryHits.track(storeHits::sum);
        storeHits.add(40);
        memoryHits.add(2);
        assertEquals(42, memoryHits.get());
        assertEquals(42, scrape().get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory"));
        memoryHits.track(null);
        assertEquals(2, memoryHits.get());
    }

    @Test
    void aFailingCallbackLeavesOutOnlyItsOwnSample()
    {
        registerAll(metrics, new AtomicLong(1));
        metrics.tierBytes(Tier.SPILL, () ->
        {
            throw new IllegalStateException("spill directory gone");
        });
        metrics.keys(() ->
        {
            throw new IllegalStateException("broken");
        });
        metrics.misses().track(() ->
        {
            throw new IllegalStateException("broken");
        });
        for (int i = 0; i < 2; i++)
        {
            final Map<String, ExpositionChecker.Family> families = scrape();
            assertFalse(families.containsKey("ds4j_keys"));
            assertFalse(families.containsKey("ds4j_misses_total"));
            final ExpositionChecker.Family bytes = families.get("ds4j_tier_bytes");
            assertEquals(Set.of("memory", "l2"),
                bytes.samples().stream().map(s -> s.labels().get("tier")).collect(Collectors.toSet()));
            assertEquals(2, families.get("ds4j_clients").value("ds4j_clients"));
        }
    }

    @Test
    void registeringAgainReplacesTheCallback()
    {
        metrics.clients(() -> 1);
        metrics.clients(() -> 9);
        assertEquals(9, scrape().get("ds4j_clients").value("ds4j_clients"));
    }

    @Test
    void concurrentIncrementsAreAllCounted() throws InterruptedException
    {
        final int threads = 8;
        final int perThread = 100_000;
        final Counter hits = metrics.hits(Tier.MEMORY);
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            workers.add(Thread.ofPlatform().start(() ->
            {
                for (int i = 0; i < perThread; i++)
                {
                    hits.inc();
                }
            }));
        }
        long previous = 0;
        while (workers.stream().anyMatch(Thread::isAlive))
        {
            final long seen = (long) scrape().get("ds4j_hits_total").value("ds4j_hits_total", "tier", "memory");
            assertTrue(seen >= previous, "a counter seen by successive scrapes never goes down");
            previous = seen;
        }
        for (final Thread worker : workers)
        {
            worker.join();
        }
        assertEquals((long) threads * perThread, hits.get());
    }

    @Test
    void anIncrementAllocatesNothing()
    {
        final com.sun.management.ThreadMXBean bean =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        final Counter hits = metrics.hits(Tier.MEMORY);
        final Counter evictions = metrics.evictions(EvictionAction.SPILL);
        for (int i = 0; i < 200_000; i++)
        {
            hits.inc();
            evictions.add(3);
        }
        final long thread = Thread.currentThread().threadId();
        final long before = bean.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 1_000_000; i++)
        {
            hits.inc();
            evictions.add(3);
        }
        final long allocated = bean.getThreadAllocatedBytes(thread) - before;
        // A few hundred bytes of slack: the measuring call itself may allocate, 2,000,000 calls cannot hide there.
        assertTrue(allocated < 1024, "2,000,000 counter updates allocated " + allocated + " bytes");
        assertEquals(1_200_000, hits.get());
    }
}
