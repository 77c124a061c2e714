package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** {@link ZipfSampler}: the empirical rank frequencies must match k^-s / H(n, s). */
class ZipfSamplerTest
{
    @Test
    void frequenciesMatchTheDistribution()
    {
        for (final double s : new double[] {0.5, 0.99, 1.0, 1.5})
        {
            final int n = 100;
            final int draws = 1_000_000;
            final ZipfSampler zipf = new ZipfSampler(n, s, new SplittableRandom(7));
            final long[] counts = new long[n + 1];
            for (int i = 0; i < draws; i++)
            {
                final int k = zipf.next();
                assertTrue(k >= 1 && k <= n, "rank " + k);
                counts[k]++;
            }
            double chiSquare = 0;
            for (int k = 1; k <= n; k++)
            {
                final double expected = draws * zipf.probability(k);
                final double sigma = Math.sqrt(expected);
                // 5 sigma per rank: a wrong normalisation or an off-by-one rank fails by far more.
                assertEquals(expected, counts[k], 5 * sigma, "s=" + s + " rank " + k);
                chiSquare += (counts[k] - expected) * (counts[k] - expected) / expected;
            }
            // 99 degrees of freedom: the 0.999 quantile is about 148.
            assertTrue(chiSquare < 148, "s=" + s + " chi2=" + chiSquare);
        }
    }

    @Test
    void largeKeySpaceHeadMatches()
    {
        final int n = 1_000_000;
        final ZipfSampler zipf = new ZipfSampler(n, 0.99, new SplittableRandom(1));
        final int draws = 2_000_000;
        long rank1 = 0;
        long top1000 = 0;
        for (int i = 0; i < draws; i++)
        {
            final int k = zipf.next();
            rank1 += k == 1 ? 1 : 0;
            top1000 += k <= 1000 ? 1 : 0;
        }
        final double p1 = zipf.probability(1);
        double pTop = 0;
        for (int k = 1; k <= 1000; k++)
        {
            pTop += Math.pow(k, -0.99);
        }
        pTop *= p1;
        assertEquals(draws * p1, rank1, 5 * Math.sqrt(draws * p1));
        assertEquals(draws * pTop, top1000, 5 * Math.sqrt(draws * pTop * (1 - pTop)));
    }

    @Test
    void seededTracesAreReproducibleAndDegenerateCasesWork()
    {
        assertArrayEquals(EvictionSimulator.zipfTrace(1000, 0.99, 10_000, 5),
            EvictionSimulator.zipfTrace(1000, 0.99, 10_000, 5));
        final ZipfSampler one = new ZipfSampler(1, 0.99, new SplittableRandom(1));
        for (int i = 0; i < 100; i++)
        {
            assertEquals(1, one.next());
        }
        assertThrows(IllegalArgumentException.class, () -> new ZipfSampler(0, 0.99, new SplittableRandom()));
        assertThrows(IllegalArgumentException.class, () -> new ZipfSampler(10, 0, new SplittableRandom()));
        assertThrows(IllegalArgumentException.class, () -> new ZipfSampler(10, Double.NaN, new SplittableRandom()));
    }
}
