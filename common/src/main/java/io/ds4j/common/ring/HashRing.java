package io.ds4j.common.ring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An immutable consistent-hash ring that decides which worker owns a key's metadata, after the upstream hash ring
 * (v0.7.0 {@code hash_ring} and {@code hash_ring_allocator}).
 *
 * <p>Positions are uint32 values held in a {@code long}, 0..2^32-1. A key sits at {@code Murmur3_32(UTF-8 bytes,
 * seed 0)}. Each worker holds tokens on the ring ({@link #TOKENS_PER_WORKER} when the ring is built here).
 *
 * <p><b>Ownership uses upstream's {@code tokenMap.upper_bound(hash)}</b>: a hash belongs to the worker of the smallest
 * token <em>strictly greater</em> than the hash, and hashes at or above the largest token wrap to the smallest token.
 * So a hash equal to a token goes to the <em>next</em> token's worker, and the hashes a token owns are
 * {@code [previousToken, token)} (see {@link Range}).
 *
 * <p>Placement follows upstream exactly, so that a ring built here holds the same tokens upstream would choose:
 * <ul>
 *   <li>{@link #initial}: with N workers sorted by address, {@code step = (2^32-1) / (4N)} and token {@code k * step}
 *       for k = 1..4N goes to worker {@code (k-1) mod N}.</li>
 *   <li>{@link #withWorkerAdded}: four times over, the worker owning the most of the ring gives up its largest range,
 *       of which the new worker takes the first {@code floor(0.55 * length)} positions.</li>
 *   <li>{@link #withWorkerRemoved}: the worker's tokens go, so each of its ranges joins the range of the next
 *       token.</li>
 * </ul>
 *
 * <p>Not yet supported: upstream routes a key of the form {@code prefix;<workerUuid>} to the worker with that uuid
 * rather than by hash ("keys pinned to a worker"). That is a later extension; today every key is placed by hash.
 *
 * <p>{@link #ownerOf} allocates nothing: tokens live in a sorted {@code long[]} searched by bisection, with the owners
 * in a parallel array.
 */
public final class HashRing
{
    /** Tokens given to each worker by {@link #initial} and {@link #withWorkerAdded}. */
    public static final int TOKENS_PER_WORKER = 4;
    /** The largest position on the ring, 2^32-1. */
    public static final long RING_MAX = 0xFFFF_FFFFL;

    /** Upstream takes a bit more than half of a split range, which it found keeps the variance of shares lower. */
    private static final double ADOPT_RATIO = 0.55;
    private static final long RING_SIZE = RING_MAX + 1;

    /** Sorted ascending, no duplicates. */
    private final long[] ringTokens;
    /** {@code ringOwners[i]} holds {@code ringTokens[i]}. */
    private final String[] ringOwners;
    private final List<String> workers;
    private final Map<String, List<Long>> tokensByWorker;

    /**
     * The hashes one token owns: {@code [startInclusive, endExclusive)}, where {@code endExclusive} is the token and
     * {@code startInclusive} the token before it on the ring; the pair is the same (from, end) pair upstream records
     * for a range. When {@code startInclusive >= endExclusive} the range wraps: it is {@code [start, 2^32-1]} followed
     * by {@code [0, end)}. Start equal to end happens only on a ring with a single token, whose range is the whole
     * ring.
     *
     * @param startInclusive the previous token
     * @param endExclusive the token owning this range
     */
    public record Range(long startInclusive, long endExclusive)
    {
        public Range
        {
            checkPosition(startInclusive, "range start");
            checkPosition(endExclusive, "range end");
        }

        /** Whether this range wraps past 2^32-1 to 0. */
        public boolean wraps()
        {
            return startInclusive >= endExclusive;
        }

        /** Whether the ring position {@code hash} lies in this range, matching {@link HashRing#ownerOfHash}. */
        public boolean contains(final long hash)
        {
            if (wraps())
            {
                return hash >= startInclusive || hash < endExclusive;
            }
            return hash >= startInclusive && hash < endExclusive;
        }

        /** How many ring positions this range holds, 1..2^32. */
        public long size()
        {
            return wraps() ? RING_SIZE - startInclusive + endExclusive : endExclusive - startInclusive;
        }
    }

    private HashRing(final long[] ringTokens, final String[] ringOwners)
    {
        this.ringTokens = ringTokens;
        this.ringOwners = ringOwners;
        final TreeMap<String, List<Long>> byWorker = new TreeMap<>();
        for (int i = 0; i < ringTokens.length; i++)
        {
            byWorker.computeIfAbsent(ringOwners[i], k -> new ArrayList<>()).add(ringTokens[i]);
        }
        final TreeMap<String, List<Long>> frozen = new TreeMap<>();
        byWorker.forEach((worker, list) -> frozen.put(worker, List.copyOf(list)));
        this.tokensByWorker = Collections.unmodifiableMap(frozen);
        this.workers = List.copyOf(frozen.keySet());
    }

    /**
     * The ring upstream builds when a cluster first forms: {@link #TOKENS_PER_WORKER} tokens per worker, evenly
     * spaced, dealt round-robin to the workers in address order.
     *
     * @throws IllegalArgumentException if the list is empty or holds a null, blank or repeated address
     */
    public static HashRing initial(final List<String> workerAddresses)
    {
        if (workerAddresses == null || workerAddresses.isEmpty())
        {
            throw new IllegalArgumentException("a hash ring needs at least one worker address, got none");
        }
        final Set<String> seen = new HashSet<>();
        for (final String address : workerAddresses)
        {
            checkAddress(address);
            if (!seen.add(address))
            {
                throw new IllegalArgumentException("worker address " + address + " is listed more than once");
            }
        }
        final List<String> sorted = new ArrayList<>(workerAddresses);
        Collections.sort(sorted);
        final int workerCount = sorted.size();
        final long tokenCount = (long) workerCount * TOKENS_PER_WORKER;
        if (tokenCount > RING_MAX)
        {
            throw new IllegalArgumentException(workerCount + " workers are too many for a uint32 ring");
        }
        // Upstream divides UINT32_MAX, not 2^32, so the last token can fall a little short of the ring's end.
        final long step = RING_MAX / tokenCount;
        final long[] tokens = new long[(int) tokenCount];
        final String[] owners = new String[(int) tokenCount];
        for (int i = 0; i < tokenCount; i++)
        {
            tokens[i] = (i + 1) * step;
            owners[i] = sorted.get(i % workerCount);
        }
        return new HashRing(tokens, owners);
    }

    /** The ring of a worker running alone: {@code initial(List.of(selfAddress))}, so it owns every key. */
    public static HashRing standalone(final String selfAddress)
    {
        return initial(List.of(Objects.requireNonNull(selfAddress, "selfAddress")));
    }

    /**
     * Rebuilds a ring from stored tokens, as returned by {@link #tokens()}.
     *
     * @throws IllegalArgumentException if the map is empty, an address is null or blank, a worker has no tokens, a
     *     token lies outside 0..2^32-1, or two tokens are equal
     */
    public static HashRing of(final Map<String, List<Long>> tokens)
    {
        if (tokens == null || tokens.isEmpty())
        {
            throw new IllegalArgumentException("a hash ring needs at least one worker, the token map is empty");
        }
        final Map<Long, String> ownerByToken = new HashMap<>();
        for (final Map.Entry<String, List<Long>> entry : tokens.entrySet())
        {
            final String address = entry.getKey();
            checkAddress(address);
            final List<Long> list = entry.getValue();
            if (list == null || list.isEmpty())
            {
                throw new IllegalArgumentException("worker " + address + " has no tokens");
            }
            for (final Long token : list)
            {
                if (token == null)
                {
                    throw new IllegalArgumentException("worker " + address + " has a null token");
                }
                checkPosition(token, "token of worker " + address);
                final String previous = ownerByToken.putIfAbsent(token, address);
                if (previous != null)
                {
                    throw new IllegalArgumentException("token " + token + " is held twice, by " + previous + " and "
                        + address);
                }
            }
        }
        final long[] sortedTokens = new long[ownerByToken.size()];
        int n = 0;
        for (final Long token : ownerByToken.keySet())
        {
            sortedTokens[n++] = token;
        }
        Arrays.sort(sortedTokens);
        final String[] owners = new String[sortedTokens.length];
        for (int i = 0; i < sortedTokens.length; i++)
        {
            owners[i] = ownerByToken.get(sortedTokens[i]);
        }
        return new HashRing(sortedTokens, owners);
    }

    /**
     * This ring with a new worker given {@link #TOKENS_PER_WORKER} tokens by upstream's split: for each token, the
     * worker that owns the most of the ring (the first by address on a tie) gives up its largest range (the first in
     * token order on a tie), and the new worker takes the first {@code floor(0.55 * length)} positions of it, so the
     * new token is {@code previousToken + floor(0.55 * length)}.
     *
     * <p>Upstream measures the wrapping range as {@code (2^32-1 - lastToken) + firstToken}, one short of its true size,
     * and steps back across zero modulo 2^32-1; both quirks are kept so the tokens chosen match upstream's.
     *
     * @throws IllegalArgumentException if the address is null, blank or already in the ring
     * @throws IllegalStateException if the ring has a single token (upstream refuses to split it) or a range is too
     *     small to split
     */
    public HashRing withWorkerAdded(final String address)
    {
        checkAddress(address);
        if (tokensByWorker.containsKey(address))
        {
            throw new IllegalArgumentException("worker " + address + " is already in the ring");
        }
        if (ringTokens.length <= 1)
        {
            throw new IllegalStateException("cannot add " + address + ": a ring of one token cannot be split");
        }
        final List<Long> tokens = new ArrayList<>(ringTokens.length + TOKENS_PER_WORKER);
        final List<String> owners = new ArrayList<>(ringTokens.length + TOKENS_PER_WORKER);
        for (int i = 0; i < ringTokens.length; i++)
        {
            tokens.add(ringTokens[i]);
            owners.add(ringOwners[i]);
        }
        // A TreeMap so that ties go to the smallest address, as with upstream's std::map and std::max_element.
        final TreeMap<String, Long> ownership = new TreeMap<>();
        for (int i = 0; i < tokens.size(); i++)
        {
            ownership.merge(owners.get(i), upstreamDistance(tokens, i), Long::sum);
        }
        for (int t = 0; t < TOKENS_PER_WORKER; t++)
        {
            String largestOwner = null;
            long largestShare = -1;
            for (final Map.Entry<String, Long> entry : ownership.entrySet())
            {
                if (entry.getValue() > largestShare)
                {
                    largestOwner = entry.getKey();
                    largestShare = entry.getValue();
                }
            }
            int rangeIndex = 0;
            long rangeLength = 0;
            for (int i = 0; i < tokens.size(); i++)
            {
                if (owners.get(i).equals(largestOwner))
                {
                    final long length = upstreamDistance(tokens, i);
                    if (length > rangeLength)
                    {
                        rangeLength = length;
                        rangeIndex = i;
                    }
                }
            }
            // Truncating a double product, as upstream's static_cast<uint32_t>(0.55 * range) does.
            final long adopt = (long) (ADOPT_RATIO * rangeLength);
            final long token = rewind(tokens.get(rangeIndex), rangeLength - adopt);
            if (adopt == 0 || tokens.contains(token))
            {
                throw new IllegalStateException("cannot add " + address + ": the largest range of " + largestOwner
                    + " ending at token " + tokens.get(rangeIndex) + " is too small to split");
            }
            final int insertAt = insertionPoint(tokens, token);
            tokens.add(insertAt, token);
            owners.add(insertAt, address);
            ownership.merge(largestOwner, -adopt, Long::sum);
            ownership.merge(address, adopt, Long::sum);
        }
        final long[] newTokens = new long[tokens.size()];
        for (int i = 0; i < newTokens.length; i++)
        {
            newTokens[i] = tokens.get(i);
        }
        return new HashRing(newTokens, owners.toArray(new String[0]));
    }

    /**
     * This ring without a worker: its tokens are dropped, so each of its ranges passes to the worker of the next
     * token and no other key moves.
     *
     * @throws IllegalArgumentException if the address is not in the ring or is the only worker in it
     */
    public HashRing withWorkerRemoved(final String address)
    {
        final List<Long> removed = address == null ? null : tokensByWorker.get(address);
        if (removed == null)
        {
            throw new IllegalArgumentException("worker " + address + " is not in the ring");
        }
        if (workers.size() == 1)
        {
            throw new IllegalArgumentException("cannot remove " + address + ": it is the only worker in the ring");
        }
        final int remaining = ringTokens.length - removed.size();
        final long[] tokens = new long[remaining];
        final String[] owners = new String[remaining];
        int n = 0;
        for (int i = 0; i < ringTokens.length; i++)
        {
            if (!ringOwners[i].equals(address))
            {
                tokens[n] = ringTokens[i];
                owners[n] = ringOwners[i];
                n++;
            }
        }
        return new HashRing(tokens, owners);
    }

    /** The worker owning {@code key}'s metadata: {@code ownerOfHash(unsigned(Murmur3.hash32(key)))}. */
    public String ownerOf(final String key)
    {
        return ringOwners[upperBoundIndex(Murmur3.unsigned(Murmur3.hash32(key)))];
    }

    /**
     * The worker owning a ring position: that of the smallest token strictly greater than {@code uint32Hash}, or of
     * the smallest token when none is greater (upstream's {@code upper_bound}). A hash equal to a token therefore
     * belongs to the next token's worker.
     *
     * @throws IllegalArgumentException if the position is outside 0..2^32-1
     */
    public String ownerOfHash(final long uint32Hash)
    {
        checkPosition(uint32Hash, "hash");
        return ringOwners[upperBoundIndex(uint32Hash)];
    }

    /** The workers in the ring, sorted by address. */
    public List<String> workers()
    {
        return workers;
    }

    /** Each worker's tokens, ascending, keyed by address in sorted order; what {@link #of} takes back. */
    public Map<String, List<Long>> tokens()
    {
        return tokensByWorker;
    }

    /** The ranges {@code worker} owns, one per token in token order; empty if the worker is not in the ring. */
    public List<Range> rangesOf(final String worker)
    {
        final List<Range> ranges = new ArrayList<>();
        for (int i = 0; i < ringTokens.length; i++)
        {
            if (ringOwners[i].equals(worker))
            {
                final long previous = ringTokens[i == 0 ? ringTokens.length - 1 : i - 1];
                ranges.add(new Range(previous, ringTokens[i]));
            }
        }
        return List.copyOf(ranges);
    }

    /**
     * A 64-bit digest of the tokens and their workers: two workers that computed the same fingerprint look at the
     * same ring. It names a ring in messages (a reconciliation is done "for" one ring) without sending the ring.
     */
    public long fingerprint()
    {
        long hash = 0xcbf29ce484222325L;
        for (int i = 0; i < ringTokens.length; i++)
        {
            hash = (hash ^ ringTokens[i]) * 0x100000001b3L;
            hash = (hash ^ ringOwners[i].hashCode()) * 0x100000001b3L;
        }
        return hash;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final HashRing ring
            && Arrays.equals(ringTokens, ring.ringTokens)
            && Arrays.equals(ringOwners, ring.ringOwners);
    }

    @Override
    public int hashCode()
    {
        return 31 * Arrays.hashCode(ringTokens) + Arrays.hashCode(ringOwners);
    }

    @Override
    public String toString()
    {
        return "HashRing" + tokensByWorker;
    }

    /** Index of the first token strictly greater than {@code hash}, wrapping to 0 past the last token. */
    private int upperBoundIndex(final long hash)
    {
        int low = 0;
        int high = ringTokens.length;
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (ringTokens[mid] <= hash)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low == ringTokens.length ? 0 : low;
    }

    /** Upstream's {@code HashRingAllocator::Distance}: the length of the range ending at token {@code index}. */
    private static long upstreamDistance(final List<Long> tokens, final int index)
    {
        if (index == 0)
        {
            return (RING_MAX - tokens.get(tokens.size() - 1)) + tokens.get(0);
        }
        return tokens.get(index) - tokens.get(index - 1);
    }

    /** Upstream's {@code HashRingAllocator::Rewind}: step back from a position, crossing zero modulo 2^32-1. */
    private static long rewind(final long position, final long distance)
    {
        return position < distance ? RING_MAX - (distance - position) : position - distance;
    }

    private static int insertionPoint(final List<Long> sortedTokens, final long token)
    {
        int low = 0;
        int high = sortedTokens.size();
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (sortedTokens.get(mid) < token)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low;
    }

    private static void checkAddress(final String address)
    {
        if (address == null)
        {
            throw new IllegalArgumentException("worker address is null");
        }
        if (address.isBlank())
        {
            throw new IllegalArgumentException("worker address is blank: '" + address + "'");
        }
    }

    private static void checkPosition(final long position, final String what)
    {
        if (position < 0 || position > RING_MAX)
        {
            throw new IllegalArgumentException(what + " " + position + " is outside the uint32 ring 0.." + RING_MAX);
        }
    }
}
