package io.ds4j.worker.cluster;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.jr.ob.JSON;
import io.ds4j.common.ring.HashRing;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The cluster's one ring record, kept in etcd at {@code <prefix>/datasystem/ring/} and changed only by
 * compare-and-swap on that key's version. It is the upstream's {@code HashRingPb} (spec §3.3) as JSON, with the same
 * field names:
 *
 * <pre>{@code
 * {"workers":{"127.0.0.1:31501":{"hash_tokens":[1073741823,...],"worker_uuid":"...","state":"ACTIVE",
 *   "need_scale_down":false}},"cluster_has_init":true}
 * }</pre>
 *
 * <p>Immutable. Tokens are uint32 ring positions; {@link #toHashRing()} builds the {@link HashRing} the workers route
 * by from the tokens of every listed worker that has some. Fields this version does not know (the upstream's
 * {@code add_node_info}, {@code del_node_info}, ...) are ignored when read and not written back.
 */
public final class RingRecord
{
    private static final JSON JSON_IO = JSON.std.with(JSON.Feature.FAIL_ON_DUPLICATE_MAP_KEYS);
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final RingRecord EMPTY = new RingRecord(Map.of(), false);

    /**
     * One worker's row in the record, the upstream's {@code WorkerPb}.
     *
     * @param hashTokens    its tokens, ascending (may be empty for a worker listed before it got tokens)
     * @param workerUuid    the worker's id, stable across its restarts; empty until the worker wrote it
     * @param state         where it is in its life cycle
     * @param needScaleDown whether it asked to leave (voluntary scale-in, a later step)
     */
    public record Worker(List<Long> hashTokens, String workerUuid, WorkerState state, boolean needScaleDown)
    {
        public Worker
        {
            Objects.requireNonNull(hashTokens, "hashTokens");
            Objects.requireNonNull(workerUuid, "workerUuid");
            Objects.requireNonNull(state, "state");
            for (final Long token : hashTokens)
            {
                if (token == null || token < 0 || token > HashRing.RING_MAX)
                {
                    throw new IllegalArgumentException("token " + token + " is outside the uint32 ring 0.."
                        + HashRing.RING_MAX);
                }
            }
            final List<Long> sorted = new ArrayList<>(hashTokens);
            Collections.sort(sorted);
            hashTokens = List.copyOf(sorted);
        }

        /** This row in another state. */
        public Worker withState(final WorkerState newState)
        {
            return new Worker(hashTokens, workerUuid, newState, needScaleDown);
        }

        /** This row with another uuid. */
        public Worker withUuid(final String uuid)
        {
            return new Worker(hashTokens, uuid, state, needScaleDown);
        }
    }

    /** Sorted by address. */
    private final Map<String, Worker> workers;
    private final boolean clusterHasInit;

    private RingRecord(final Map<String, Worker> workers, final boolean clusterHasInit)
    {
        final TreeMap<String, Worker> sorted = new TreeMap<>(workers);
        this.workers = Collections.unmodifiableMap(sorted);
        this.clusterHasInit = clusterHasInit;
        // every token at most once, so toHashRing() cannot fail on a record that exists
        final Map<Long, String> owners = new HashMap<>();
        sorted.forEach((address, worker) ->
        {
            if (address == null || address.isBlank())
            {
                throw new IllegalArgumentException("a worker address in the ring record is blank");
            }
            for (final Long token : worker.hashTokens())
            {
                final String previous = owners.putIfAbsent(token, address);
                if (previous != null)
                {
                    throw new IllegalArgumentException("token " + token + " is held twice, by " + previous
                        + " and " + address);
                }
            }
        });
    }

    /** A record with no workers and {@code cluster_has_init} false: what a cluster has before its first ring. */
    public static RingRecord empty()
    {
        return EMPTY;
    }

    /**
     * A record with these rows.
     *
     * @throws IllegalArgumentException if an address is blank or two rows share a token
     */
    public static RingRecord of(final Map<String, Worker> workers, final boolean clusterHasInit)
    {
        return new RingRecord(Objects.requireNonNull(workers, "workers"), clusterHasInit);
    }

    /**
     * The first ring of a cluster: the even split of {@link HashRing#initial} over {@code addresses}, every worker in
     * state {@code state} with an empty uuid, {@code cluster_has_init} true.
     *
     * @throws IllegalArgumentException if the list is empty or repeats an address
     */
    public static RingRecord initial(final List<String> addresses, final WorkerState state)
    {
        final HashRing ring = HashRing.initial(addresses);
        final Map<String, Worker> rows = new TreeMap<>();
        ring.tokens().forEach((address, tokens) -> rows.put(address, new Worker(tokens, "", state, false)));
        return new RingRecord(rows, true);
    }

    /** Every row, keyed by worker address in sorted order. */
    public Map<String, Worker> workers()
    {
        return workers;
    }

    /** The row of {@code address}, or null when it is not listed. */
    public Worker worker(final String address)
    {
        return workers.get(address);
    }

    public boolean contains(final String address)
    {
        return workers.containsKey(address);
    }

    /** The upstream's {@code cluster_has_init}: whether the first ring was made. */
    public boolean clusterHasInit()
    {
        return clusterHasInit;
    }

    /** Whether some listed worker holds tokens, i.e. whether {@link #toHashRing()} has a ring to build. */
    public boolean hasTokens()
    {
        return workers.values().stream().anyMatch(worker -> !worker.hashTokens().isEmpty());
    }

    /**
     * The ring of every listed worker that holds tokens, whatever its state.
     *
     * @throws IllegalStateException if no worker holds a token
     */
    public HashRing toHashRing()
    {
        final Map<String, List<Long>> tokens = new LinkedHashMap<>();
        workers.forEach((address, worker) ->
        {
            if (!worker.hashTokens().isEmpty())
            {
                tokens.put(address, worker.hashTokens());
            }
        });
        if (tokens.isEmpty())
        {
            throw new IllegalStateException("the ring record lists no worker with tokens: " + workers.keySet());
        }
        return HashRing.of(tokens);
    }

    /** This record with {@code address}'s row set to {@code worker} (added, or replacing the old row). */
    public RingRecord withWorker(final String address, final Worker worker)
    {
        final Map<String, Worker> rows = new TreeMap<>(workers);
        rows.put(Objects.requireNonNull(address, "address"), Objects.requireNonNull(worker, "worker"));
        return new RingRecord(rows, clusterHasInit);
    }

    /** This record without {@code address}'s row (the same record when it is not listed). */
    public RingRecord withoutWorker(final String address)
    {
        if (!workers.containsKey(address))
        {
            return this;
        }
        final Map<String, Worker> rows = new TreeMap<>(workers);
        rows.remove(address);
        return new RingRecord(rows, clusterHasInit);
    }

    /**
     * This record with a new worker given tokens by the upstream's 0.55 split ({@link HashRing#withWorkerAdded}) of
     * the current ring; no other worker's tokens change.
     *
     * @throws IllegalArgumentException if the address is already listed
     * @throws IllegalStateException if the record has no tokens to split
     */
    public RingRecord withWorkerAdded(final String address, final String workerUuid, final WorkerState state)
    {
        if (workers.containsKey(address))
        {
            throw new IllegalArgumentException("worker " + address + " is already in the ring record");
        }
        final List<Long> tokens = toHashRing().withWorkerAdded(address).tokens().get(address);
        return withWorker(address, new Worker(tokens, workerUuid, state, false));
    }

    /** The record as JSON, workers in address order: what is stored in etcd. */
    public String toJson()
    {
        final Map<String, Object> rows = new LinkedHashMap<>();
        workers.forEach((address, worker) ->
        {
            final Map<String, Object> row = new LinkedHashMap<>();
            row.put("hash_tokens", worker.hashTokens());
            row.put("worker_uuid", worker.workerUuid());
            row.put("state", worker.state().name());
            row.put("need_scale_down", worker.needScaleDown());
            rows.put(address, row);
        });
        final Map<String, Object> root = new LinkedHashMap<>();
        root.put("workers", rows);
        root.put("cluster_has_init", clusterHasInit);
        try
        {
            return JSON_IO.asString(root);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot write the ring record as JSON", e);
        }
    }

    /**
     * Reads a record written by {@link #toJson()} (or by hand in the same shape). A missing {@code workers} means no
     * workers; a missing {@code cluster_has_init} means false; a worker's missing {@code worker_uuid},
     * {@code state} and {@code need_scale_down} mean {@code ""}, INITIAL and false.
     *
     * @throws IOException saying what is wrong when the text is not JSON, not of that shape, or holds a token that is
     *     not a uint32 or is held twice
     */
    public static RingRecord fromJson(final String json) throws IOException
    {
        if (json == null || json.isBlank())
        {
            throw malformed("it is empty");
        }
        final Object root;
        try (JsonParser parser = FACTORY.createParser(json))
        {
            root = JSON_IO.anyFrom(parser);
            if (parser.nextToken() != null)
            {
                throw malformed("it has text after the JSON object");
            }
        }
        catch (final IOException e)
        {
            if (e.getMessage() != null && e.getMessage().startsWith("malformed ring record"))
            {
                throw e;
            }
            throw malformed("it is not JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (!(root instanceof final Map<?, ?> top))
        {
            throw malformed("it is not a JSON object but " + describe(root));
        }
        final Object workersValue = top.get("workers");
        final Map<String, Worker> rows = new TreeMap<>();
        if (workersValue != null)
        {
            if (!(workersValue instanceof final Map<?, ?> workerMap))
            {
                throw malformed("\"workers\" is " + describe(workersValue) + ", not an object of address to worker");
            }
            for (final Map.Entry<?, ?> entry : workerMap.entrySet())
            {
                final String address = String.valueOf(entry.getKey());
                rows.put(address, readWorker(address, entry.getValue()));
            }
        }
        final Object init = top.get("cluster_has_init");
        if (init != null && !(init instanceof Boolean))
        {
            throw malformed("\"cluster_has_init\" is " + describe(init) + ", not true or false");
        }
        try
        {
            return new RingRecord(rows, Boolean.TRUE.equals(init));
        }
        catch (final IllegalArgumentException e)
        {
            throw malformed(e.getMessage());
        }
    }

    private static Worker readWorker(final String address, final Object value) throws IOException
    {
        if (address.isBlank())
        {
            throw malformed("a worker address is blank");
        }
        if (!(value instanceof final Map<?, ?> row))
        {
            throw malformed("worker " + address + " is " + describe(value) + ", not an object");
        }
        final List<Long> tokens = new ArrayList<>();
        final Object tokenValue = row.get("hash_tokens");
        if (tokenValue != null)
        {
            if (!(tokenValue instanceof final List<?> list))
            {
                throw malformed("\"hash_tokens\" of " + address + " is " + describe(tokenValue) + ", not a list");
            }
            for (final Object token : list)
            {
                tokens.add(readToken(address, token));
            }
        }
        final Object uuid = row.get("worker_uuid");
        if (uuid != null && !(uuid instanceof String))
        {
            throw malformed("\"worker_uuid\" of " + address + " is " + describe(uuid) + ", not a string");
        }
        final Object stateValue = row.get("state");
        WorkerState state = WorkerState.INITIAL;
        if (stateValue != null)
        {
            try
            {
                state = WorkerState.valueOf(String.valueOf(stateValue));
            }
            catch (final IllegalArgumentException e)
            {
                throw malformed("\"state\" of " + address + " is " + describe(stateValue) + "; it is one of "
                    + java.util.Arrays.toString(WorkerState.values()));
            }
        }
        final Object scaleDown = row.get("need_scale_down");
        if (scaleDown != null && !(scaleDown instanceof Boolean))
        {
            throw malformed("\"need_scale_down\" of " + address + " is " + describe(scaleDown)
                + ", not true or false");
        }
        final java.util.Set<Long> seen = new java.util.HashSet<>();
        for (final Long token : tokens)
        {
            if (!seen.add(token))
            {
                throw malformed("worker " + address + " lists token " + token + " twice");
            }
        }
        return new Worker(tokens, uuid == null ? "" : (String) uuid, state, Boolean.TRUE.equals(scaleDown));
    }

    private static long readToken(final String address, final Object token) throws IOException
    {
        final long value;
        if (token instanceof Integer || token instanceof Long || token instanceof Short || token instanceof Byte)
        {
            value = ((Number) token).longValue();
        }
        else if (token instanceof final BigInteger big && big.bitLength() < 63)
        {
            value = big.longValue();
        }
        else
        {
            throw malformed("worker " + address + " has the token " + describe(token) + ", not a whole number in"
                + " 0.." + HashRing.RING_MAX);
        }
        if (value < 0 || value > HashRing.RING_MAX)
        {
            throw malformed("worker " + address + " has the token " + value + ", outside the uint32 ring 0.."
                + HashRing.RING_MAX);
        }
        return value;
    }

    private static IOException malformed(final String why)
    {
        return new IOException("malformed ring record: " + why);
    }

    private static String describe(final Object value)
    {
        if (value == null)
        {
            return "null";
        }
        final String text = value instanceof String ? "\"" + value + "\"" : String.valueOf(value);
        final String shown = text.length() > 60 ? text.substring(0, 60) + "..." : text;
        return shown + " (" + (value instanceof Map ? "object" : value instanceof List ? "list"
            : value.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)) + ")";
    }

    private static String firstLine(final String message)
    {
        if (message == null)
        {
            return "unreadable";
        }
        final int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final RingRecord record && clusterHasInit == record.clusterHasInit
            && workers.equals(record.workers);
    }

    @Override
    public int hashCode()
    {
        return 31 * workers.hashCode() + Boolean.hashCode(clusterHasInit);
    }

    @Override
    public String toString()
    {
        return "RingRecord" + toJson();
    }
}
