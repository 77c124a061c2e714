package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** The policy choice, in small: on a seeded Zipf(0.99) trace S3-FIFO must hit at least as often as LRU. */
class EvictionSimulatorTest
{
    private static final int KEYS = 30_000;
    private static final int WARMUP = 500_000;
    private static final int REQUESTS = 500_000;

    @Test
    void s3FifoHitsAtLeastAsOftenAsLruOnZipf099()
    {
        assertTimeout(Duration.ofSeconds(5), () ->
        {
            final int[] trace = EvictionSimulator.zipfTrace(KEYS, 0.99, WARMUP + REQUESTS, 42);
            for (final boolean mixed : new boolean[] {false, true})
            {
                final long[] sizes = EvictionSimulator.sizes(KEYS, mixed, 42);
                final long capacity = Arrays.stream(sizes).sum() / 3;
                final EvictionSimulator.Result lru =
                    EvictionSimulator.run(new LruPolicy<>(), trace, sizes, capacity, WARMUP);
                final EvictionSimulator.Result s3 = EvictionSimulator.run(
                    new S3FifoPolicy<Integer>(capacity, Integer::intValue), trace, sizes, capacity, WARMUP);
                assertEquals(REQUESTS, lru.requests());
                assertTrue(lru.hitRatio() > 0.5 && lru.hitRatio() < 0.99, "implausible LRU " + lru.hitRatio());
                assertTrue(s3.hitRatio() >= lru.hitRatio(), (mixed ? "mixed" : "equal") + " sizes: s3fifo "
                    + s3.hitRatio() + " < lru " + lru.hitRatio());
                assertTrue(s3.byteHitRatio() >= lru.byteHitRatio(), "byte hit ratio: s3fifo " + s3.byteHitRatio()
                    + " < lru " + lru.byteHitRatio());
            }
        });
    }

    @Test
    void cacheNeverExceedsCapacityAndEvictsOnlyWhenFull()
    {
        final int[] trace = EvictionSimulator.zipfTrace(1000, 0.99, 20_000, 1);
        final long[] sizes = EvictionSimulator.sizes(1000, true, 1);
        // Everything fits: one miss per distinct key, no eviction.
        final long all = Arrays.stream(sizes).sum();
        final EvictionSimulator.Result roomy = EvictionSimulator.run(new S3FifoPolicy<>(), trace, sizes, all, 0);
        assertEquals(0, roomy.evictions());
        assertEquals(trace.length - Arrays.stream(trace).distinct().count(), roomy.hits());
        final EvictionSimulator.Result tight =
            EvictionSimulator.run(new LruPolicy<>(), trace, sizes, all / 10, 0);
        assertTrue(tight.evictions() > 0);
    }
}
