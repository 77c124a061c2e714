package io.ds4j.worker.eviction;

import java.util.random.RandomGenerator;

/**
 * Draws ranks 1..n with P(k) proportional to 1/k^s by rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-
 * inversion to generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996). It needs no table,
 * so a million-key trace costs O(1) memory, and it is exact for any exponent s &gt; 0 (s = 1 included), unlike the
 * often-copied YCSB generator, which approximates the zeta constant.
 *
 * <p>Idea: the hat function h(x) = x^-s dominates the probabilities once each rank k is widened to [k-1/2, k+1/2];
 * draw x by inverting the integral H of h, round to the nearest rank, and accept when the point falls under the
 * rank's own bar. The acceptance rate is above 90% for every s, so the loop rarely repeats.
 */
public final class ZipfSampler
{
    private final int n;
    private final double exponent;
    private final RandomGenerator random;
    private final double hIntegralX1;
    private final double hIntegralN;
    private final double s;

    /**
     * @param n        number of ranks, at least 1
     * @param exponent the skew s, &gt; 0 (0.99 is the usual "Zipfian" of YCSB and cache papers)
     * @param random   the source of uniform numbers; seed it for a reproducible trace
     */
    public ZipfSampler(final int n, final double exponent, final RandomGenerator random)
    {
        if (n < 1 || !(exponent > 0))
        {
            throw new IllegalArgumentException("n=" + n + " exponent=" + exponent);
        }
        this.n = n;
        this.exponent = exponent;
        this.random = random;
        this.hIntegralX1 = hIntegral(1.5) - 1.0;
        this.hIntegralN = hIntegral(n + 0.5);
        // Ranks with k - x <= s are accepted without evaluating H again: the squeeze of the paper.
        this.s = 2.0 - hIntegralInverse(hIntegral(2.5) - h(2.0));
    }

    /** A rank in [1, n]; rank 1 is the most popular. */
    public int next()
    {
        while (true)
        {
            final double u = hIntegralN + random.nextDouble() * (hIntegralX1 - hIntegralN);
            final double x = hIntegralInverse(u);
            int k = (int) (x + 0.5);
            if (k < 1)
            {
                k = 1;
            }
            else if (k > n)
            {
                k = n;
            }
            if (k - x <= s || u >= hIntegral(k + 0.5) - h(k))
            {
                return k;
            }
        }
    }

    /** The exact probability of rank k, for tests: k^-s / H(n, s). O(n). */
    public double probability(final int k)
    {
        double norm = 0;
        for (int i = n; i >= 1; i--)
        {
            norm += Math.pow(i, -exponent);
        }
        return Math.pow(k, -exponent) / norm;
    }

    /** H(x) = (x^(1-s) - 1) / (1-s), written so that it stays accurate as s approaches 1 (where H = log x). */
    private double hIntegral(final double x)
    {
        final double logX = Math.log(x);
        return helper2((1.0 - exponent) * logX) * logX;
    }

    private double h(final double x)
    {
        return Math.exp(-exponent * Math.log(x));
    }

    private double hIntegralInverse(final double x)
    {
        double t = x * (1.0 - exponent);
        if (t < -1.0)
        {
            // Only rounding can take t below -1; clamp so that log1p stays defined.
            t = -1.0;
        }
        return Math.exp(helper1(t) * x);
    }

    /** log(1+x)/x, with its Taylor series near 0 where the quotient cancels. */
    private static double helper1(final double x)
    {
        if (Math.abs(x) > 1e-8)
        {
            return Math.log1p(x) / x;
        }
        return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
    }

    /** (e^x - 1)/x, with its Taylor series near 0. */
    private static double helper2(final double x)
    {
        if (Math.abs(x) > 1e-8)
        {
            return Math.expm1(x) / x;
        }
        return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
    }
}
