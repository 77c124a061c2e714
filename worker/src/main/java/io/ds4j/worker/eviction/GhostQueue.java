package io.ds4j.worker.eviction;

import java.util.Arrays;

/**
 * The ghost queue of S3-FIFO: a FIFO of the fingerprints of objects recently evicted from the small queue, with their
 * sizes, bounded in bytes. It keeps 32-bit fingerprints rather than the items so that an evicted object (and its
 * key) can be collected; a collision only admits some unrelated newcomer straight into the main queue, at a rate of
 * (ghost entries / 2^32) per miss. Not thread-safe: {@link S3FifoPolicy} calls it under its lock.
 *
 * <p>Layout: a ring of (fingerprint, bytes) indexed by a sequence number, and an open-addressing map from fingerprint
 * to the sequence number of its live entry. An entry is live iff the map points at it, so a ghost hit or a newer entry
 * of the same fingerprint kills an old one in O(1) without touching the ring; dead entries are dropped when they
 * reach the head, or by compaction when they would otherwise make the ring grow.
 */
final class GhostQueue
{
    private static final long ABSENT = -1;

    private int[] fingerprints = new int[16];
    private long[] sizes = new long[16];
    private long headSeq;
    private long tailSeq;
    private long liveBytes;
    private int liveCount;
    private final FingerprintMap index = new FingerprintMap();

    /** Remembers an evicted object; a remembered one of the same fingerprint is forgotten first. */
    void add(final int fingerprint, final long bytes)
    {
        forget(fingerprint);
        if (tailSeq - headSeq == fingerprints.length)
        {
            makeRoom();
        }
        final int slot = (int) (tailSeq & (fingerprints.length - 1));
        fingerprints[slot] = fingerprint;
        sizes[slot] = bytes;
        index.put(fingerprint, tailSeq++);
        liveBytes += bytes;
        liveCount++;
    }

    /** Whether the fingerprint was remembered; a hit is forgotten, as the object is coming back. */
    boolean removeIfPresent(final int fingerprint)
    {
        return forget(fingerprint);
    }

    /** Forgets the oldest entries until at most {@code budget} bytes are remembered. */
    void trim(final long budget)
    {
        while (liveBytes > budget && headSeq < tailSeq)
        {
            popHead();
        }
        dropDeadHead();
    }

    long bytes()
    {
        return liveBytes;
    }

    int size()
    {
        return liveCount;
    }

    /** Slots in the ring, live or dead, for tests of the memory bound. */
    int ringCapacity()
    {
        return fingerprints.length;
    }

    private boolean forget(final int fingerprint)
    {
        final long seq = index.remove(fingerprint);
        if (seq == ABSENT)
        {
            return false;
        }
        liveBytes -= sizes[(int) (seq & (fingerprints.length - 1))];
        liveCount--;
        dropDeadHead();
        return true;
    }

    private void popHead()
    {
        final int slot = (int) (headSeq & (fingerprints.length - 1));
        if (index.get(fingerprints[slot]) == headSeq)
        {
            index.remove(fingerprints[slot]);
            liveBytes -= sizes[slot];
            liveCount--;
        }
        headSeq++;
    }

    private void dropDeadHead()
    {
        while (headSeq < tailSeq)
        {
            final int slot = (int) (headSeq & (fingerprints.length - 1));
            if (index.get(fingerprints[slot]) == headSeq)
            {
                return;
            }
            headSeq++;
        }
    }

    /** The ring is full: compact it when mostly dead (bounds it to twice the live entries), else double it. */
    private void makeRoom()
    {
        final int oldLength = fingerprints.length;
        final int newLength = liveCount * 2 < oldLength ? oldLength : oldLength * 2;
        final int[] newFingerprints = new int[newLength];
        final long[] newSizes = new long[newLength];
        long newTail = headSeq;
        for (long seq = headSeq; seq < tailSeq; seq++)
        {
            final int slot = (int) (seq & (oldLength - 1));
            final int fingerprint = fingerprints[slot];
            if (index.get(fingerprint) == seq)
            {
                final int to = (int) (newTail & (newLength - 1));
                newFingerprints[to] = fingerprint;
                newSizes[to] = sizes[slot];
                index.put(fingerprint, newTail++);
            }
        }
        fingerprints = newFingerprints;
        sizes = newSizes;
        tailSeq = newTail;
    }

    /** Open addressing with linear probing and backward-shift deletion; key 0 marks an empty slot. */
    private static final class FingerprintMap
    {
        private int[] keys = new int[16];
        private long[] values = new long[16];
        private int count;

        long get(final int key)
        {
            final int mask = keys.length - 1;
            for (int i = slot(key, mask); ; i = (i + 1) & mask)
            {
                final int k = keys[i];
                if (k == key)
                {
                    return values[i];
                }
                if (k == 0)
                {
                    return ABSENT;
                }
            }
        }

        void put(final int key, final long value)
        {
            if ((count + 1) * 2 > keys.length)
            {
                resize();
            }
            final int mask = keys.length - 1;
            int i = slot(key, mask);
            while (keys[i] != 0 && keys[i] != key)
            {
                i = (i + 1) & mask;
            }
            if (keys[i] == 0)
            {
                keys[i] = key;
                count++;
            }
            values[i] = value;
        }

        long remove(final int key)
        {
            final int mask = keys.length - 1;
            int i = slot(key, mask);
            while (keys[i] != key)
            {
                if (keys[i] == 0)
                {
                    return ABSENT;
                }
                i = (i + 1) & mask;
            }
            final long removed = values[i];
            count--;
            // Backward shift: pull later members of the probe run into the hole so lookups never stop early.
            int hole = i;
            for (int j = (i + 1) & mask; keys[j] != 0; j = (j + 1) & mask)
            {
                final int home = slot(keys[j], mask);
                final boolean homeInRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
                if (!homeInRange)
                {
                    keys[hole] = keys[j];
                    values[hole] = values[j];
                    hole = j;
                }
            }
            keys[hole] = 0;
            return removed;
        }

        private void resize()
        {
            final int[] oldKeys = keys;
            final long[] oldValues = values;
            keys = new int[oldKeys.length * 2];
            values = new long[oldKeys.length * 2];
            count = 0;
            for (int i = 0; i < oldKeys.length; i++)
            {
                if (oldKeys[i] != 0)
                {
                    put(oldKeys[i], oldValues[i]);
                }
            }
        }

        private static int slot(final int key, final int mask)
        {
            // Fingerprints are already mixed; one more multiply spreads sequential ones over the table.
            return (key * 0x9E3779B9 >>> 16 ^ key) & mask;
        }

        @Override
        public String toString()
        {
            return "FingerprintMap" + Arrays.toString(Arrays.copyOf(keys, Math.min(keys.length, 8)));
        }
    }
}
