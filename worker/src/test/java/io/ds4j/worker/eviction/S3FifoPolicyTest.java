package io.ds4j.worker.eviction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The behaviours that make {@link S3FifoPolicy} S3-FIFO, on hand-built queues. */
class S3FifoPolicyTest
{
    /** Evicts one candidate and returns it. */
    private static <T> EvictionPolicy.Node<T> evict(final S3FifoPolicy<T> policy)
    {
        final EvictionPolicy.Node<T> victim = policy.nextCandidate();
        policy.remove(victim);
        return victim;
    }

    private static List<EvictionPolicy.Node<String>> admit(final S3FifoPolicy<String> policy, final String prefix,
        final int count, final long bytes)
    {
        final List<EvictionPolicy.Node<String>> nodes = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            nodes.add(policy.admit(prefix + i, bytes));
        }
        return nodes;
    }

    @Test
    void oneHitWondersLeaveThroughTheSmallQueueAndReaccessedOnesArePromoted()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        final List<EvictionPolicy.Node<String>> hot = admit(policy, "hot", 5, 1);
        final List<EvictionPolicy.Node<String>> cold = admit(policy, "cold", 5, 1);
        hot.forEach(EvictionPolicy.Node::touch);
        for (final EvictionPolicy.Node<String> expected : cold)
        {
            final EvictionPolicy.Node<String> victim = policy.nextCandidate();
            assertSame(expected, victim);
            assertFalse(policy.inMain(victim));
            policy.remove(victim);
        }
        for (final EvictionPolicy.Node<String> node : hot)
        {
            assertTrue(policy.inMain(node), node + " was hit on probation and belongs in main");
        }
        // The cold ones are remembered by the ghost, by bytes, within 90% of the 5 bytes tracked: the oldest is gone.
        assertArrayEquals(new long[] {0, 5, 4}, policy.queueBytes());
    }

    @Test
    void ghostHitAdmitsIntoMainButDeletionLeavesNoGhost()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        final List<EvictionPolicy.Node<String>> filler = admit(policy, "f", 20, 1);
        final EvictionPolicy.Node<String> x = filler.getFirst();
        assertSame(x, evict(policy));
        // Back soon after being dropped: not a one-hit wonder, so it skips probation. Equal item, new node.
        final EvictionPolicy.Node<String> again = policy.admit(new String("f0"), 1);
        assertTrue(policy.inMain(again));
        // The ghost entry was used up by the readmission.
        policy.remove(again);
        assertFalse(policy.inMain(policy.admit("f0", 1)));

        final EvictionPolicy.Node<String> deleted = filler.get(5);
        policy.remove(deleted);
        assertFalse(policy.inMain(policy.admit("f5", 1)), "a delete is not an eviction");
    }

    @Test
    void customFingerprintLetsIdentityHashedItemsHitTheGhost()
    {
        /** An item without equals/hashCode, as a store entry is. */
        final class Entry
        {
            private final String key;

            Entry(final String key)
            {
                this.key = key;
            }
        }
        final S3FifoPolicy<Entry> byKey = new S3FifoPolicy<>(e -> e.key.hashCode());
        final S3FifoPolicy<Entry> byIdentity = new S3FifoPolicy<>();
        for (final S3FifoPolicy<Entry> policy : List.of(byKey, byIdentity))
        {
            for (int i = 0; i < 10; i++)
            {
                policy.admit(new Entry("e" + i), 1);
            }
            assertEquals("e0", evict(policy).item().key);
        }
        assertTrue(byKey.inMain(byKey.admit(new Entry("e0"), 1)));
        assertFalse(byIdentity.inMain(byIdentity.admit(new Entry("e0"), 1)));
    }

    @Test
    void queuesAreWeightedByBytesNotByCount()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        final EvictionPolicy.Node<String> big = policy.admit("big", 90);
        big.touch();
        final List<EvictionPolicy.Node<String>> small = admit(policy, "s", 10, 1);
        // 10 of 11 objects are on probation, but only 10 of 100 bytes: the small queue is within its 10% share,
        // so the big object (promoted, then its hit spent) is the candidate, not a small untouched one.
        final EvictionPolicy.Node<String> candidate = policy.nextCandidate();
        assertSame(big, candidate);
        assertArrayEquals(new long[] {10, 90, 0}, policy.queueBytes());
        policy.remove(candidate);
        for (final EvictionPolicy.Node<String> node : small)
        {
            assertFalse(policy.inMain(node));
        }
    }

    @Test
    void sharesAreOfTheCapacityWhenGiven()
    {
        final S3FifoPolicy<String> sized = new S3FifoPolicy<>(1000);
        final S3FifoPolicy<String> relative = new S3FifoPolicy<>();
        for (final S3FifoPolicy<String> policy : List.of(sized, relative))
        {
            policy.admit("hot", 1).touch();
            admit(policy, "s", 50, 1);
        }
        // 50 bytes on probation: within 10% of a 1000-byte cache, but far over 10% of the 51 bytes tracked.
        assertEquals("hot", sized.nextCandidate().item());
        assertEquals("s0", relative.nextCandidate().item());
    }

    @Test
    void ghostIsBoundedByTrackedBytes()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        admit(policy, "k", 1000, 10);
        for (int i = 0; i < 5000; i++)
        {
            evict(policy);
            policy.admit("n" + i, 10);
            final long[] bytes = policy.queueBytes();
            assertTrue(bytes[2] <= 0.9 * (bytes[0] + bytes[1]), "ghost " + bytes[2]);
        }
        assertEquals(1000, policy.size());
    }

    @Test
    void skippedNodeIsReinsertedAtTheHeadOfMain()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        final List<EvictionPolicy.Node<String>> nodes = admit(policy, "k", 4, 1);
        final EvictionPolicy.Node<String> pinned = policy.nextCandidate();
        assertSame(nodes.getFirst(), pinned);
        policy.skip(pinned);
        assertTrue(policy.inMain(pinned));
        assertSame(nodes.get(1), evict(policy));
        assertSame(nodes.get(2), evict(policy));
        assertSame(nodes.get(3), evict(policy));
        assertSame(pinned, evict(policy));
        assertNull(policy.nextCandidate());
        // The ghost shrinks with the bytes tracked: an emptied cache remembers nothing.
        assertArrayEquals(new long[] {0, 0, 0}, policy.queueBytes());
    }

    @Test
    void mainQueueGivesHitObjectsAnotherRound()
    {
        final S3FifoPolicy<String> policy = new S3FifoPolicy<>();
        final List<EvictionPolicy.Node<String>> nodes = admit(policy, "m", 3, 1);
        nodes.forEach(EvictionPolicy.Node::touch);
        // All three are promoted with their hit, which buys each one reinsertion pass; m0 is then the tail.
        assertSame(nodes.get(0), policy.nextCandidate());
        // Hits in main buy another pass: m0 and m2 survive, m1 (not hit since) goes.
        nodes.get(0).touch();
        nodes.get(2).touch();
        final EvictionPolicy.Node<String> first = evict(policy);
        assertSame(nodes.get(1), first);
        assertEquals(2, policy.size());
    }

    @Test
    void rejectsBadParameters()
    {
        assertThrows(IllegalArgumentException.class, () -> new S3FifoPolicy<String>(String::hashCode, 0, -0.1, 0.9, 1));
        assertThrows(IllegalArgumentException.class, () -> new S3FifoPolicy<String>(String::hashCode, 0, 0.1, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new S3FifoPolicy<String>(String::hashCode, 0, 0.1, 0.9, 0));
        assertThrows(IllegalArgumentException.class, () -> new S3FifoPolicy<String>(String::hashCode, 0, 0.1, 0.9, 4));
        assertThrows(IllegalArgumentException.class, () -> new S3FifoPolicy<String>(-1));
        assertEquals("s3fifo", new S3FifoPolicy<String>().name());
    }
}
