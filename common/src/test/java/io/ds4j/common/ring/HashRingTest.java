package io.ds4j.common.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class HashRingTest
{
    private static final long MAX = HashRing.RING_MAX;
    private static final int KEYS = 10_000;

    private static List<String> randomKeys(final long seed)
    {
        final Random random = new Random(seed);
        final String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:;";
        final List<String> keys = new ArrayList<>(KEYS);
        for (int i = 0; i < KEYS; i++)
        {
            final int length = 1 + random.nextInt(40);
            final StringBuilder builder = new StringBuilder(length);
            for (int j = 0; j < length; j++)
            {
                builder.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            keys.add(builder.toString());
        }
        return keys;
    }

    /** All tokens of a ring in ring order, with their owners. */
    private static TreeMap<Long, String> ownerByToken(final HashRing ring)
    {
        final TreeMap<Long, String> byToken = new TreeMap<>();
        ring.tokens().forEach((worker, tokens) -> tokens.forEach(token -> byToken.put(token, worker)));
        return byToken;
    }

    private static <T extends Throwable> void assertThrowsSaying(final Class<T> type, final String fragment,
        final Runnable action)
    {
        final T thrown = assertThrows(type, action::run);
        assertTrue(thrown.getMessage().contains(fragment),
            () -> "message '" + thrown.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void standaloneRingOwnsEveryKey()
    {
        final HashRing ring = HashRing.standalone("10.0.0.1:31501");
        assertEquals(List.of("10.0.0.1:31501"), ring.workers());
        assertEquals(HashRing.TOKENS_PER_WORKER, ring.tokens().get("10.0.0.1:31501").size());
        for (final String key : randomKeys(1))
        {
            assertEquals("10.0.0.1:31501", ring.ownerOf(key));
        }
        assertEquals("10.0.0.1:31501", ring.ownerOfHash(0));
        assertEquals("10.0.0.1:31501", ring.ownerOfHash(MAX));
        assertEquals(ring, HashRing.initial(List.of("10.0.0.1:31501")));
    }

    @Test
    void initialRingOfThreeHasTwelveEvenTokensDealtRoundRobinByAddress()
    {
        // Given out of order: the deal follows sorted addresses, not the list's order.
        final HashRing ring = HashRing.initial(List.of("w3:1", "w1:1", "w2:1"));
        assertEquals(List.of("w1:1", "w2:1", "w3:1"), ring.workers());
        final long step = MAX / 12;
        assertEquals(357_913_941L, step);
        final TreeMap<Long, String> byToken = ownerByToken(ring);
        assertEquals(12, byToken.size());
        int k = 1;
        for (final Map.Entry<Long, String> entry : byToken.entrySet())
        {
            assertEquals(k * step, entry.getKey());
            assertEquals(ring.workers().get((k - 1) % 3), entry.getValue());
            k++;
        }
        assertEquals(List.of(step, 4 * step, 7 * step, 10 * step), ring.tokens().get("w1:1"));
        assertEquals(List.of(2 * step, 5 * step, 8 * step, 11 * step), ring.tokens().get("w2:1"));
        assertEquals(List.of(3 * step, 6 * step, 9 * step, 12 * step), ring.tokens().get("w3:1"));
    }

    @Test
    void hashGoesToTheSmallestTokenStrictlyAboveIt()
    {
        final HashRing ring = HashRing.initial(List.of("w1:1", "w2:1", "w3:1"));
        final List<Long> tokens = new ArrayList<>(ownerByToken(ring).keySet());
        final List<String> owners = new ArrayList<>(ownerByToken(ring).values());
        final int count = tokens.size();
        for (int i = 0; i < count; i++)
        {
            final long token = tokens.get(i);
            final String next = owners.get((i + 1) % count);
            // upper_bound: a hash equal to a token belongs to the next token, not to this one.
            assertEquals(next, ring.ownerOfHash(token), "hash equal to token " + token);
            assertEquals(owners.get(i), ring.ownerOfHash(token - 1), "hash just below token " + token);
            assertEquals(next, ring.ownerOfHash(token + 1), "hash just above token " + token);
        }
        final long last = tokens.get(count - 1);
        assertTrue(last < MAX);
        assertEquals(owners.get(0), ring.ownerOfHash(last + 1), "above the last token wraps to the first");
        assertEquals(owners.get(0), ring.ownerOfHash(MAX), "the top of the ring wraps to the first token");
        assertEquals(owners.get(0), ring.ownerOfHash(0), "below the first token");
    }

    @Test
    void ownerOfIsOwnerOfTheKeysHash()
    {
        final HashRing ring = HashRing.initial(List.of("a:1", "b:1", "c:1")).withWorkerAdded("d:1");
        for (final String key : randomKeys(2))
        {
            assertEquals(ring.ownerOfHash(Murmur3.unsigned(Murmur3.hash32(key))), ring.ownerOf(key));
            assertTrue(ring.workers().contains(ring.ownerOf(key)));
        }
    }

    @Test
    void ownerOfDoesNotAllocate()
    {
        final java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no allocation counter");
        final com.sun.management.ThreadMXBean counter = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(counter.isThreadAllocatedMemorySupported() && counter.isThreadAllocatedMemoryEnabled());
        final HashRing ring = HashRing.initial(List.of("a:1", "b:1", "c:1")).withWorkerAdded("d:1");
        // Non-ASCII and a surrogate pair too, so the UTF-8 path is covered, not just the one-byte case.
        final List<String> keys = randomKeys(7).stream().map(key -> key + "\u00e9\ud83d\ude00").toList();
        final long threadId = Thread.currentThread().threadId();
        int sink = 0;
        // The first pass pays for class loading and compilation, which do allocate.
        for (int pass = 0; pass < 2; pass++)
        {
            final long before = counter.getThreadAllocatedBytes(threadId);
            for (int i = 0; i < 20 * KEYS; i++)
            {
                sink += ring.ownerOf(keys.get(i % KEYS)).length();
            }
            final long allocated = counter.getThreadAllocatedBytes(threadId) - before;
            if (pass == 1)
            {
                // Even one small object per call would be millions of bytes here.
                assertTrue(allocated < 20 * KEYS, "ownerOf allocated " + allocated + " bytes over " + 20 * KEYS
                    + " calls");
            }
        }
        assertTrue(sink > 0);
    }

    @Test
    void tenThousandKeysSpreadOverFourWorkers()
    {
        final HashRing ring = HashRing.initial(List.of("w1:1", "w2:1", "w3:1", "w4:1"));
        final Map<String, Integer> counts = new HashMap<>();
        for (final String key : randomKeys(3))
        {
            counts.merge(ring.ownerOf(key), 1, Integer::sum);
        }
        assertEquals(4, counts.size(), counts::toString);
        counts.forEach((worker, count) -> assertTrue(count >= KEYS / 10 && count <= KEYS * 4 / 10,
            () -> worker + " owns " + count + " of " + KEYS + " keys: " + counts));
    }

    @Test
    void rangesTileTheRingAndAgreeWithOwnerOfHash()
    {
        final HashRing ring = HashRing.initial(List.of("w1:1", "w2:1", "w3:1")).withWorkerAdded("w4:1");
        long total = 0;
        for (final String worker : ring.workers())
        {
            final List<HashRing.Range> ranges = ring.rangesOf(worker);
            assertEquals(ring.tokens().get(worker).size(), ranges.size());
            for (final HashRing.Range range : ranges)
            {
                total += range.size();
                assertEquals(worker, ring.ownerOfHash(range.startInclusive()));
                assertEquals(worker, ring.ownerOfHash(range.endExclusive() == 0 ? MAX : range.endExclusive() - 1));
            }
        }
        assertEquals(MAX + 1, total);
        final Random random = new Random(4);
        for (int i = 0; i < KEYS; i++)
        {
            final long hash = random.nextLong(MAX + 1);
            final String owner = ring.ownerOfHash(hash);
            assertTrue(ring.rangesOf(owner).stream().anyMatch(r -> r.contains(hash)), () -> "hash " + hash);
        }
        assertEquals(List.of(), ring.rangesOf("not-a-member:1"));
    }

    @Test
    void wrappingRangeIsTheFirstTokensRange()
    {
        final HashRing ring = HashRing.initial(List.of("w1:1", "w2:1", "w3:1"));
        final long step = MAX / 12;
        final HashRing.Range first = ring.rangesOf("w1:1").get(0);
        assertEquals(new HashRing.Range(12 * step, step), first);
        assertTrue(first.wraps());
        assertEquals(MAX + 1 - 12 * step + step, first.size());
        assertTrue(first.contains(MAX) && first.contains(0) && first.contains(12 * step) && first.contains(step - 1));
        assertTrue(!first.contains(step) && !first.contains(12 * step - 1));
    }

    @Test
    void addingToAStandaloneRingMatchesUpstreamTokens()
    {
        // Worked by hand from upstream's allocator: step = 1073741823; the wrap range (4294967292, 1073741823) is
        // measured as 3 + 1073741823 = 1073741826 and is the largest, so the first token is 1073741823 -
        // (1073741826 - floor(0.55 * 1073741826)) = 590558001. The next three split the other full ranges at
        // previous token + floor(0.55 * 1073741823) = + 590558002, in token order.
        final HashRing ring = HashRing.standalone("a:1").withWorkerAdded("b:1");
        assertEquals(List.of(590_558_001L, 1_664_299_825L, 2_738_041_648L, 3_811_783_471L), ring.tokens().get("b:1"));
        assertEquals(List.of(1_073_741_823L, 2_147_483_646L, 3_221_225_469L, 4_294_967_292L), ring.tokens().get("a:1"));
    }

    @Test
    void addingToThreeAndThenFourWorkersMatchesUpstreamTokens()
    {
        // From a line-by-line transcription of upstream's HashRingAllocator::AddNode run outside Java.
        final HashRing four = HashRing.initial(List.of("w1", "w2", "w3")).withWorkerAdded("w4");
        assertEquals(List.of(196_852_666L, 554_766_608L, 912_680_549L, 1_270_594_490L), four.tokens().get("w4"));
        final HashRing five = four.withWorkerAdded("w5");
        assertEquals(List.of(1_628_508_431L, 1_986_422_372L, 2_344_336_313L, 2_702_250_254L), five.tokens().get("w5"));
    }

    @Test
    void eachNewTokenTakesFiftyFivePercentOfTheLargestOwnersLargestRange()
    {
        HashRing ring = HashRing.initial(List.of("n1:1", "n2:1", "n3:1"));
        for (int added = 4; added <= 9; added++)
        {
            final String address = "n" + added + ":1";
            final HashRing grown = ring.withWorkerAdded(address);
            assertEquals(HashRing.TOKENS_PER_WORKER, grown.tokens().get(address).size());
            // Old workers keep every token they had.
            for (final String worker : ring.workers())
            {
                assertEquals(ring.tokens().get(worker), grown.tokens().get(worker));
            }
            assertEquals(expectedTokensAfterSplits(ring, address), grown.tokens().get(address), address);
            ring = grown;
        }
    }

    /**
     * The split rule restated, recomputing every share from scratch each time: the worker owning the most (first
     * address on a tie) loses its largest range (first token on a tie), of which the new worker takes 55% from the
     * front. Lengths are measured as upstream does, with the wrapping range one short of its true size.
     */
    private static List<Long> expectedTokensAfterSplits(final HashRing before, final String address)
    {
        final TreeMap<Long, String> ring = ownerByToken(before);
        final List<Long> added = new ArrayList<>();
        for (int t = 0; t < HashRing.TOKENS_PER_WORKER; t++)
        {
            final TreeMap<String, Long> shares = new TreeMap<>();
            ring.forEach((token, worker) -> shares.merge(worker, measuredLength(ring, token), Long::sum));
            final long most = shares.values().stream().mapToLong(Long::longValue).max().orElseThrow();
            final String victim = shares.entrySet().stream().filter(e -> e.getValue() == most).findFirst()
                .orElseThrow().getKey();
            long bestEnd = -1;
            long bestLength = -1;
            for (final Map.Entry<Long, String> entry : ring.entrySet())
            {
                final long length = measuredLength(ring, entry.getKey());
                if (entry.getValue().equals(victim) && length > bestLength)
                {
                    bestEnd = entry.getKey();
                    bestLength = length;
                }
            }
            final long start = bestEnd == ring.firstKey() ? ring.lastKey() : ring.lowerKey(bestEnd);
            final long token = (start + (long) (0.55 * bestLength)) % MAX;
            final long end = bestEnd;
            final HashRing.Range split = new HashRing.Range(start, end);
            assertTrue(split.contains(token) && token != start, () -> "token " + token + " outside " + split);
            ring.put(token, address);
            added.add(token);
        }
        added.sort(Long::compare);
        return added;
    }

    private static long measuredLength(final TreeMap<Long, String> ring, final long token)
    {
        return token == ring.firstKey() ? MAX - ring.lastKey() + token : token - ring.lowerKey(token);
    }

    @Test
    void removingAWorkerMovesOnlyItsKeys()
    {
        final HashRing before = HashRing.initial(List.of("r1:1", "r2:1", "r3:1", "r4:1")).withWorkerAdded("r5:1");
        final HashRing after = before.withWorkerRemoved("r3:1");
        assertEquals(List.of("r1:1", "r2:1", "r4:1", "r5:1"), after.workers());
        int moved = 0;
        for (final String key : randomKeys(5))
        {
            final String was = before.ownerOf(key);
            final String now = after.ownerOf(key);
            if (was.equals("r3:1"))
            {
                assertNotEquals("r3:1", now);
                // A removed token's range joins the range of the next token on the ring.
                final long hash = Murmur3.unsigned(Murmur3.hash32(key));
                final Map.Entry<Long, String> next = ownerByToken(after).higherEntry(hash);
                assertEquals(next == null ? ownerByToken(after).firstEntry().getValue() : next.getValue(), now);
                moved++;
            }
            else
            {
                assertEquals(was, now, key);
            }
        }
        assertTrue(moved > 0, "some keys should have been on the removed worker");
        for (final String worker : after.workers())
        {
            assertEquals(before.tokens().get(worker), after.tokens().get(worker));
        }
    }

    @Test
    void addingThenRemovingAWorkerRestoresTheRing()
    {
        final HashRing ring = HashRing.initial(List.of("a:1", "b:1", "c:1"));
        assertEquals(ring, ring.withWorkerAdded("d:1").withWorkerRemoved("d:1"));
    }

    @Test
    void ofRebuildsTheSameRing()
    {
        final HashRing ring = HashRing.initial(List.of("a:1", "b:1", "c:1")).withWorkerAdded("d:1")
            .withWorkerRemoved("b:1");
        final HashRing rebuilt = HashRing.of(ring.tokens());
        assertEquals(ring, rebuilt);
        assertEquals(ring.hashCode(), rebuilt.hashCode());
        assertEquals(ring.workers(), rebuilt.workers());
        assertEquals(ring.tokens(), rebuilt.tokens());
        for (final String key : randomKeys(6))
        {
            assertEquals(ring.ownerOf(key), rebuilt.ownerOf(key));
        }
        // A stored record need not be sorted.
        final Map<String, List<Long>> shuffled = new LinkedHashMap<>();
        shuffled.put("y", List.of(300L, 100L));
        shuffled.put("x", List.of(MAX, 0L, 200L));
        final HashRing small = HashRing.of(shuffled);
        assertEquals(List.of("x", "y"), small.workers());
        assertEquals(List.of(0L, 200L, MAX), small.tokens().get("x"));
        assertEquals("y", small.ownerOfHash(0));
        assertEquals("x", small.ownerOfHash(MAX));
    }

    @Test
    void singleTokenRingOwnsEverything()
    {
        final HashRing ring = HashRing.of(Map.of("only", List.of(1000L)));
        assertEquals("only", ring.ownerOfHash(0));
        assertEquals("only", ring.ownerOfHash(1000));
        assertEquals("only", ring.ownerOfHash(MAX));
        final HashRing.Range whole = ring.rangesOf("only").get(0);
        assertEquals(MAX + 1, whole.size());
        assertTrue(whole.contains(0) && whole.contains(1000) && whole.contains(MAX));
        assertThrowsSaying(IllegalStateException.class, "one token", () -> ring.withWorkerAdded("other"));
    }

    @Test
    void ringsAreImmutable()
    {
        final HashRing ring = HashRing.initial(List.of("a:1", "b:1"));
        final Map<String, List<Long>> tokens = ring.tokens();
        ring.withWorkerAdded("c:1");
        ring.withWorkerRemoved("a:1");
        assertEquals(tokens, ring.tokens());
        assertEquals(List.of("a:1", "b:1"), ring.workers());
        assertThrows(UnsupportedOperationException.class, () -> ring.tokens().put("z", List.of(1L)));
        assertThrows(UnsupportedOperationException.class, () -> ring.tokens().get("a:1").add(5L));
        assertThrows(UnsupportedOperationException.class, () -> ring.workers().add("z"));
    }

    @Test
    void badInputIsRejectedWithAReason()
    {
        assertThrowsSaying(IllegalArgumentException.class, "at least one", () -> HashRing.initial(List.of()));
        assertThrowsSaying(IllegalArgumentException.class, "at least one", () -> HashRing.initial(null));
        assertThrowsSaying(IllegalArgumentException.class, "a:1 is listed more than once",
            () -> HashRing.initial(List.of("a:1", "b:1", "a:1")));
        final List<String> withNull = new ArrayList<>(List.of("a:1"));
        withNull.add(null);
        assertThrowsSaying(IllegalArgumentException.class, "null", () -> HashRing.initial(withNull));
        assertThrowsSaying(IllegalArgumentException.class, "blank", () -> HashRing.initial(List.of(" ")));

        assertThrowsSaying(IllegalArgumentException.class, "empty", () -> HashRing.of(Map.of()));
        assertThrowsSaying(IllegalArgumentException.class, "b has no tokens",
            () -> HashRing.of(Map.of("a", List.of(1L), "b", List.of())));
        assertThrowsSaying(IllegalArgumentException.class, "token 7 is held twice",
            () -> HashRing.of(Map.of("a", List.of(7L), "b", List.of(7L))));
        assertThrowsSaying(IllegalArgumentException.class, "outside",
            () -> HashRing.of(Map.of("a", List.of(MAX + 1))));
        assertThrowsSaying(IllegalArgumentException.class, "outside", () -> HashRing.of(Map.of("a", List.of(-1L))));

        final HashRing ring = HashRing.initial(List.of("a:1", "b:1"));
        assertThrowsSaying(IllegalArgumentException.class, "a:1 is already in the ring",
            () -> ring.withWorkerAdded("a:1"));
        assertThrowsSaying(IllegalArgumentException.class, "z:1 is not in the ring",
            () -> ring.withWorkerRemoved("z:1"));
        assertThrowsSaying(IllegalArgumentException.class, "only worker",
            () -> HashRing.standalone("a:1").withWorkerRemoved("a:1"));
        assertThrowsSaying(IllegalArgumentException.class, "outside", () -> ring.ownerOfHash(MAX + 1));
        assertThrowsSaying(IllegalArgumentException.class, "outside", () -> ring.ownerOfHash(-1));
    }
}
