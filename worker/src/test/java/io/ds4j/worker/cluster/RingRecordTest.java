package io.ds4j.worker.cluster;

import io.ds4j.common.ring.HashRing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RingRecordTest
{
    private static final String A = "127.0.0.1:31501";
    private static final String B = "127.0.0.1:31502";
    private static final String C = "127.0.0.1:31503";

    @Test
    void initialRecordHoldsTheEvenSplitAndRoundTrips() throws IOException
    {
        final RingRecord record = RingRecord.initial(List.of(B, A), WorkerState.INITIAL)
            .withWorker(A, RingRecord.initial(List.of(B, A), WorkerState.INITIAL).worker(A)
                .withState(WorkerState.ACTIVE).withUuid("uuid-a"));
        assertTrue(record.clusterHasInit());
        assertEquals(List.of(A, B), List.copyOf(record.workers().keySet()));
        assertEquals(HashRing.initial(List.of(A, B)), record.toHashRing());
        assertEquals(WorkerState.ACTIVE, record.worker(A).state());
        assertEquals("uuid-a", record.worker(A).workerUuid());
        assertEquals(WorkerState.INITIAL, record.worker(B).state());

        final String json = record.toJson();
        assertEquals(record, RingRecord.fromJson(json));
        assertEquals(json, RingRecord.fromJson(json).toJson(), "writing is deterministic");
        assertTrue(json.startsWith("{\"workers\":{\"" + A + "\":{\"hash_tokens\":["), json);
        assertTrue(json.contains("\"worker_uuid\":\"uuid-a\",\"state\":\"ACTIVE\",\"need_scale_down\":false"), json);
        assertTrue(json.endsWith(",\"cluster_has_init\":true}"), json);
    }

    @Test
    void addedWorkerGetsTheUpstreamSplitAndNobodyElseMoves() throws IOException
    {
        final RingRecord two = RingRecord.initial(List.of(A, B), WorkerState.ACTIVE);
        final RingRecord three = two.withWorkerAdded(C, "uuid-c", WorkerState.JOINING);
        final HashRing expected = HashRing.initial(List.of(A, B)).withWorkerAdded(C);
        assertEquals(expected, three.toHashRing());
        assertEquals(two.worker(A), three.worker(A));
        assertEquals(two.worker(B), three.worker(B));
        assertEquals(WorkerState.JOINING, three.worker(C).state());
        assertEquals(HashRing.TOKENS_PER_WORKER, three.worker(C).hashTokens().size());
        assertEquals(three, RingRecord.fromJson(three.toJson()));
        assertThrows(IllegalArgumentException.class, () -> three.withWorkerAdded(C, "", WorkerState.JOINING));
        assertEquals(two, three.withoutWorker(C));
    }

    @Test
    void missingOptionalFieldsTakeTheirDefaults() throws IOException
    {
        final RingRecord record = RingRecord.fromJson("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[5,1]}}}");
        assertFalse(record.clusterHasInit());
        assertEquals(List.of(1L, 5L), record.worker(A).hashTokens());
        assertEquals("", record.worker(A).workerUuid());
        assertEquals(WorkerState.INITIAL, record.worker(A).state());
        assertFalse(record.worker(A).needScaleDown());
        assertEquals(RingRecord.empty(), RingRecord.fromJson("{}"));
        assertFalse(RingRecord.empty().hasTokens());
        assertThrows(IllegalStateException.class, () -> RingRecord.empty().toHashRing());
    }

    @Test
    void largestTokensAndUnknownFieldsAreRead() throws IOException
    {
        final RingRecord record = RingRecord.fromJson("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[0,"
            + HashRing.RING_MAX + "],\"state\":\"LEAVING\",\"need_scale_down\":true,\"later\":1}},"
            + "\"cluster_has_init\":true,\"add_node_info\":{}}");
        assertEquals(List.of(0L, HashRing.RING_MAX), record.worker(A).hashTokens());
        assertEquals(WorkerState.LEAVING, record.worker(A).state());
        assertTrue(record.worker(A).needScaleDown());
        assertEquals(HashRing.of(Map.of(A, List.of(0L, HashRing.RING_MAX))), record.toHashRing());
    }

    @Test
    void malformedRecordsAreRejectedWithTheReason()
    {
        assertMalformed("", "empty");
        assertMalformed("not json", "not JSON");
        assertMalformed("{\"workers\":", "not JSON");
        assertMalformed("[1,2]", "not a JSON object");
        assertMalformed("{} {}", "text after");
        assertMalformed("{\"workers\":[]}", "\"workers\" is");
        assertMalformed("{\"workers\":{\"" + A + "\":3}}", "worker " + A + " is 3");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":\"1,2\"}}}", "not a list");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[1.5]}}}", "not a whole number");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[-1]}}}", "outside the uint32 ring");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[4294967296]}}}", "outside the uint32 ring");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[99999999999999999999999]}}}",
            "not a whole number");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[7,7]}}}", "twice");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"hash_tokens\":[7]},\"" + B + "\":{\"hash_tokens\":[7]}}}",
            "held twice");
        assertMalformed("{\"workers\":{\"" + A + "\":{\"state\":\"SLEEPING\"}}}", "\"state\" of " + A);
        assertMalformed("{\"workers\":{\"" + A + "\":{\"worker_uuid\":5}}}", "\"worker_uuid\" of " + A);
        assertMalformed("{\"workers\":{\"" + A + "\":{\"need_scale_down\":\"no\"}}}", "\"need_scale_down\"");
        assertMalformed("{\"cluster_has_init\":1}", "\"cluster_has_init\"");
        assertMalformed("{\"workers\":{\" \":{}}}", "blank");
        assertMalformed("{\"cluster_has_init\":true,\"cluster_has_init\":false}", "not JSON");
    }

    @Test
    void recordsAreValuesAndRowsAreChecked()
    {
        final RingRecord one = RingRecord.initial(List.of(A), WorkerState.ACTIVE);
        assertEquals(one, RingRecord.initial(List.of(A), WorkerState.ACTIVE));
        assertNotEquals(one, RingRecord.initial(List.of(A), WorkerState.INITIAL));
        assertThrows(UnsupportedOperationException.class, () -> one.workers().clear());
        assertThrows(IllegalArgumentException.class,
            () -> new RingRecord.Worker(List.of(HashRing.RING_MAX + 1), "", WorkerState.ACTIVE, false));
        assertThrows(IllegalArgumentException.class, () -> one.withWorker(B, one.worker(A)),
            "two rows cannot share tokens");
    }

    private static void assertMalformed(final String json, final String reason)
    {
        final IOException e = assertThrows(IOException.class, () -> RingRecord.fromJson(json), json);
        assertTrue(e.getMessage().startsWith("malformed ring record: "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), "'" + reason + "' missing in: " + e.getMessage());
    }
}
