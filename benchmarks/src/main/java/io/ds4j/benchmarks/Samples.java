package io.ds4j.benchmarks;

import java.util.Arrays;

/** Latencies in nanoseconds, kept up to a fixed count (later samples are counted but not kept). */
final class Samples
{
    private long[] values;
    private int size;
    private final int cap;
    private long count;

    Samples(final int cap)
    {
        this.cap = cap;
        this.values = new long[Math.min(cap, 1024)];
    }

    void add(final long nanos)
    {
        count++;
        if (size == values.length)
        {
            if (size >= cap)
            {
                return;
            }
            values = Arrays.copyOf(values, (int) Math.min(cap, 2L * values.length));
        }
        values[size++] = nanos;
    }

    void addAll(final Samples other)
    {
        for (int i = 0; i < other.size; i++)
        {
            add(other.values[i]);
        }
        count += other.count - other.size;
    }

    long count()
    {
        return count;
    }

    /** The q-quantile (0..1) in nanoseconds, nearest rank; NaN when empty. */
    double quantile(final double q)
    {
        if (size == 0)
        {
            return Double.NaN;
        }
        final long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        final int rank = (int) Math.ceil(q * size) - 1;
        return sorted[Math.max(0, Math.min(size - 1, rank))];
    }

    double median()
    {
        return quantile(0.5);
    }

    double p99()
    {
        return quantile(0.99);
    }
}
