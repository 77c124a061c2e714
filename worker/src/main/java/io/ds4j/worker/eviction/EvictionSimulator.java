package io.ds4j.worker.eviction;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

/**
 * Replays a seeded Zipf trace through each eviction policy in front of a byte-bounded cache and prints hit ratios.
 * The cache holds a third of the working set's bytes; a miss admits the object after evicting candidates
 * ({@code nextCandidate} then {@code remove}) until it fits, as the worker's allocation-failure path does.
 *
 * <pre>
 * java -cp worker/target/classes io.ds4j.worker.eviction.EvictionSimulator \
 *     [--keys=1000000] [--requests=5000000] [--warmup=10000000] [--alpha=0.99] [--seed=42] \
 *     [--sizes=both|equal|mixed] [--ratio=3]
 * java -cp worker/target/classes io.ds4j.worker.eviction.EvictionSimulator --touch-bench=lru|s3fifo
 * </pre>
 *
 * Equal sizes are 4 KiB each; mixed sizes are log-uniform over 1 KiB..1 MiB, drawn per key independently of its
 * popularity. The warm-up requests are not counted: they fill the cache and let S3-FIFO settle, which takes some
 * twenty cache-fulls of requests, since a cache filled from empty starts with every object on probation.
 */
public final class EvictionSimulator
{
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    private EvictionSimulator()
    {
    }

    /** Hits out of requests, by count and by bytes, after the warm-up. */
    public record Result(String policy, long requests, long hits, long bytesRequested, long bytesHit,
        long evictions, long nanos)
    {
        public double hitRatio()
        {
            return requests == 0 ? 0 : (double) hits / requests;
        }

        public double byteHitRatio()
        {
            return bytesRequested == 0 ? 0 : (double) bytesHit / bytesRequested;
        }
    }

    /** A trace of key ids in [0, keys): key k - 1 has popularity rank k. */
    public static int[] zipfTrace(final int keys, final double alpha, final int length, final long seed)
    {
        final ZipfSampler zipf = new ZipfSampler(keys, alpha, new SplittableRandom(seed));
        final int[] trace = new int[length];
        for (int i = 0; i < length; i++)
        {
            trace[i] = zipf.next() - 1;
        }
        return trace;
    }

    /** Per-key sizes: all {@code 4 KiB}, or log-uniform in [1 KiB, 1 MiB]. */
    public static long[] sizes(final int keys, final boolean mixed, final long seed)
    {
        final long[] sizes = new long[keys];
        final SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        final double lo = Math.log(KIB);
        final double hi = Math.log(MIB);
        for (int k = 0; k < keys; k++)
        {
            sizes[k] = mixed ? Math.round(Math.exp(lo + random.nextDouble() * (hi - lo))) : 4 * KIB;
        }
        return sizes;
    }

    /**
     * Replays {@code trace} through {@code policy} in front of a cache of {@code capacity} bytes; the first
     * {@code warmup} requests are not counted.
     */
    public static Result run(final EvictionPolicy<Integer> policy, final int[] trace, final long[] sizes,
        final long capacity, final int warmup)
    {
        @SuppressWarnings({"unchecked", "rawtypes"})
        final EvictionPolicy.Node<Integer>[] resident = new EvictionPolicy.Node[sizes.length];
        long used = 0;
        long requests = 0;
        long hits = 0;
        long bytesRequested = 0;
        long bytesHit = 0;
        long evictions = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < trace.length; i++)
        {
            final int key = trace[i];
            final long size = sizes[key];
            final boolean counted = i >= warmup;
            if (counted)
            {
                requests++;
                bytesRequested += size;
            }
            final EvictionPolicy.Node<Integer> node = resident[key];
            if (node != null)
            {
                node.touch();
                if (counted)
                {
                    hits++;
                    bytesHit += size;
                }
                continue;
            }
            if (size > capacity)
            {
                continue;
            }
            while (used + size > capacity)
            {
                final EvictionPolicy.Node<Integer> victim = policy.nextCandidate();
                final int victimKey = victim.item();
                policy.remove(victim);
                resident[victimKey] = null;
                used -= sizes[victimKey];
                evictions++;
            }
            // Integer.valueOf boxes outside the small-value cache: one allocation per miss, as a real key would be.
            resident[key] = policy.admit(key, size);
            used += size;
        }
        return new Result(policy.name(), requests, hits, bytesRequested, bytesHit, evictions,
            System.nanoTime() - start);
    }

    /** The policies compared, by display name: the baseline first. */
    static List<Named> policies()
    {
        final List<Named> list = new ArrayList<>();
        list.add(new Named("lru", capacity -> new LruPolicy<>()));
        list.add(new Named("s3fifo", capacity -> new S3FifoPolicy<Integer>(capacity, Integer::intValue)));
        // Two FIFO queues with second-chance counters and no ghost: the shape of upstream's EvictionList Q1/Q2.
        list.add(new Named("2q-second-chance",
            capacity -> new S3FifoPolicy<Integer>(Integer::intValue, capacity, 0.1, 0, 1)));
        // One FIFO with a 2-bit counter (CLOCK with frequency): what S3-FIFO's small queue and ghost add to it.
        list.add(new Named("clock-2bit",
            capacity -> new S3FifoPolicy<Integer>(Integer::intValue, capacity, 0, 0, 1)));
        return list;
    }

    /** A policy factory, given the cache's capacity in bytes, with the name the report shows. */
    record Named(String name, LongFunction<EvictionPolicy<Integer>> factory)
    {
    }

    public static void main(final String[] args)
    {
        int keys = 1_000_000;
        int requests = 5_000_000;
        int warmup = 10_000_000;
        double alpha = 0.99;
        long seed = 42;
        String sizeModes = "both";
        double ratio = 3;
        String touchBench = null;
        for (final String arg : args)
        {
            final String value = arg.substring(arg.indexOf('=') + 1);
            switch (arg.substring(0, arg.contains("=") ? arg.indexOf('=') : arg.length()))
            {
                case "--keys" -> keys = Integer.parseInt(value);
                case "--requests" -> requests = Integer.parseInt(value);
                case "--warmup" -> warmup = Integer.parseInt(value);
                case "--alpha" -> alpha = Double.parseDouble(value);
                case "--seed" -> seed = Long.parseLong(value);
                case "--sizes" -> sizeModes = value;
                case "--ratio" -> ratio = Double.parseDouble(value);
                case "--touch-bench" -> touchBench = value;
                default -> throw new IllegalArgumentException("unknown argument " + arg
                    + "; known: --keys= --requests= --warmup= --alpha= --seed= --sizes=both|equal|mixed --ratio="
                    + " --touch-bench=lru|s3fifo");
            }
        }
        if (touchBench != null)
        {
            touchBench(touchBench);
            return;
        }
        final long t0 = System.nanoTime();
        final int[] trace = zipfTrace(keys, alpha, warmup + requests, seed);
        System.out.printf(Locale.ROOT, "trace: %,d keys, Zipf(%.2f), %,d warm-up + %,d counted requests, seed %d"
            + " (generated in %.1f s); cache = working set / %.1f%n", keys, alpha, warmup, requests, seed,
            (System.nanoTime() - t0) / 1e9, ratio);
        for (final String mode : sizeModes.equals("both") ? List.of("equal", "mixed") : List.of(sizeModes))
        {
            final long[] sizes = sizes(keys, mode.equals("mixed"), seed);
            final long workingSet = Arrays.stream(sizes).sum();
            final long capacity = (long) (workingSet / ratio);
            System.out.printf(Locale.ROOT, "%nsizes %s: working set %,d MiB, cache %,d MiB%n", mode,
                workingSet / MIB, capacity / MIB);
            System.out.printf(Locale.ROOT, "  %-18s %10s %14s %12s %10s%n", "policy", "hit ratio", "byte hit ratio",
                "evictions", "ns/req");
            for (final Named named : policies())
            {
                final Result r = run(named.factory().apply(capacity), trace, sizes, capacity, warmup);
                System.out.printf(Locale.ROOT, "  %-18s %9.2f%% %13.2f%% %,12d %10.0f%n", named.name(),
                    100 * r.hitRatio(), 100 * r.byteHitRatio(), r.evictions(), (double) r.nanos() / trace.length);
            }
            if (mode.equals("equal"))
            {
                // With independent references, holding the most popular keys is the best a policy blind to the future
                // can do on average (the "A0" policy): the ceiling for every row above.
                final int fit = (int) (capacity / sizes[0]);
                long top = 0;
                for (int i = warmup; i < trace.length; i++)
                {
                    top += trace[i] < fit ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "  %-18s %9.2f%%   (the %,d most popular keys pinned)%n",
                    "static top-k", 100.0 * top / requests, fit);
            }
        }
    }

    /**
     * Hits per second on 1,000 shared nodes from every core: the cost of {@link EvictionPolicy.Node#touch()}. One
     * policy per run: a second policy in the same JVM would find the loop compiled for the first one's node class.
     */
    private static void touchBench(final String policyName)
    {
        final Named named = policies().stream().filter(p -> p.name().equals(policyName)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no policy " + policyName));
        final int threads = Runtime.getRuntime().availableProcessors();
        final EvictionPolicy<Integer> policy = named.factory().apply(1000);
        @SuppressWarnings({"unchecked", "rawtypes"})
        final EvictionPolicy.Node<Integer>[] nodes = new EvictionPolicy.Node[1000];
        for (int k = 0; k < nodes.length; k++)
        {
            nodes[k] = policy.admit(k, 1);
        }
        final int[] trace = zipfTrace(nodes.length, 0.99, 1 << 20, 7);
        final long[] counts = new long[threads];
        final Thread[] workers = new Thread[threads];
        final long seconds = 2;
        final long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        for (int t = 0; t < threads; t++)
        {
            final int id = t;
            workers[t] = new Thread(() ->
            {
                long n = 0;
                int i = id * 4099;
                while ((n & 1023) != 0 || System.nanoTime() < deadline)
                {
                    nodes[trace[i++ & (trace.length - 1)]].touch();
                    n++;
                }
                counts[id] = n;
            });
            workers[t].start();
        }
        long total = 0;
        for (int t = 0; t < threads; t++)
        {
            try
            {
                workers[t].join();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return;
            }
            total += counts[t];
        }
        System.out.printf(Locale.ROOT, "%ntouch throughput of %s: %d threads on %,d shared nodes (Zipf 0.99):"
            + " %,d touches/s%n", named.name(), threads, nodes.length, total / seconds);
    }
}
