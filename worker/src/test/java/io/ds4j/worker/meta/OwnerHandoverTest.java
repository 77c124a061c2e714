package io.ds4j.worker.meta;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.meta.MetadataOwner.RefOp;
import io.ds4j.worker.store.Removal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The owner's side of reconciliation: adopting reports, handing ranges over, and forgetting a gone holder. */
class OwnerHandoverTest
{
    private final List<String> retired = new CopyOnWriteArrayList<>();
    private final List<String> promoted = new CopyOnWriteArrayList<>();
    private final LocalMetadataOwner owner = new LocalMetadataOwner(new CopyHolders()
    {
        @Override
        public void retire(final String holder, final String key, final long version, final Removal why)
        {
            retired.add(holder + " " + key + "@" + version + " " + why);
        }

        @Override
        public void promote(final String holder, final String key, final long version)
        {
            promoted.add(holder + " " + key + "@" + version);
        }

        @Override
        public void expiryChanged(final String holder, final String key, final long version, final long at)
        {
        }
    });

    @AfterEach
    void close()
    {
        owner.close();
    }

    private static KeyMeta meta(final long version, final String primary)
    {
        return new KeyMeta(version, 100, WriteMode.NONE_L2_CACHE, ConsistencyType.CAUSAL, 0, primary);
    }

    private KeyMeta current(final String key) throws InterruptedException
    {
        return owner.query(List.of(key), 0)[0];
    }

    @Test
    void aPrimaryReportBecomesTheRecordAndReplicasAreAdded() throws InterruptedException
    {
        assertArrayEquals(new boolean[] {false, false}, owner.adopt(List.of(
            KeyHandover.ofCopy("k", meta(10, "A"), "A", false),
            KeyHandover.ofCopy("k", meta(10, "B"), "B", true))));
        assertEquals(meta(10, "A"), current("k"));
        // the replica is known: an overwrite retires it and the old primary
        assertEquals(PublishResult.PUBLISHED, owner.publish("k", meta(11, "C"), ExistenceOpt.NONE));
        assertEquals(List.of("A k@10 REPLACED", "B k@10 REPLACED"), retired.stream().sorted().toList());
    }

    @Test
    void aReplicaReportedWithoutItsPrimaryIsPromoted() throws InterruptedException
    {
        owner.adopt(List.of(KeyHandover.ofCopy("k", meta(10, "A"), "B", true)));
        assertEquals("B", current("k").primary());
    }

    @Test
    void anOlderReportIsOutdatedAndANewerOneReplacesTheRecord() throws InterruptedException
    {
        owner.publish("k", meta(20, "A"), ExistenceOpt.NONE);
        assertArrayEquals(new boolean[] {true}, owner.adopt(List.of(KeyHandover.ofCopy("k", meta(19, "B"), "B",
            false))));
        assertEquals(meta(20, "A"), current("k"));
        assertArrayEquals(new boolean[] {false}, owner.adopt(List.of(KeyHandover.ofCopy("k", meta(21, "C"), "C",
            false))));
        assertEquals(meta(21, "C"), current("k"));
        // the outdated report's copy is retired by the owner, then the replaced record's
        assertEquals(List.of("B k@19 REPLACED", "A k@20 REPLACED"), retired);
    }

    @Test
    void aDeletedVersionDoesNotComeBackFromAReportOrFromL2() throws InterruptedException
    {
        owner.publish("k", meta(30, "A"), ExistenceOpt.NONE);
        assertTrue(owner.delete("k"));
        // a holder's report that the delete overtook, and a reader's NX publish of the record it found in L2
        assertArrayEquals(new boolean[] {true}, owner.adopt(List.of(KeyHandover.ofCopy("k", meta(30, "B"), "B",
            true))));
        assertEquals(PublishResult.OUTDATED, owner.publish("k", meta(30, "B"), ExistenceOpt.NX));
        assertNull(current("k"));
        assertTrue(retired.contains("B k@30 DELETED"), "the reported copy goes: " + retired);
        // a new write is newer than the deletion
        assertEquals(PublishResult.CREATED, owner.publish("k", meta(31, "B"), ExistenceOpt.NONE));
    }

    @Test
    void aHandedOverDeletionEndsAnOlderRecordReportedMeanwhile() throws InterruptedException
    {
        owner.adopt(List.of(KeyHandover.ofCopy("k", meta(40, "A"), "A", false)));
        owner.adopt(List.of(new KeyHandover("k", null, List.of(), Map.of(), 40)));
        assertNull(current("k"));
        assertEquals(List.of("A k@40 DELETED"), retired);
    }

    @Test
    void handOverGivesUpTheKeysNoLongerOwnedWithTheirCopiesAndReferences() throws InterruptedException
    {
        owner.publish("mine", meta(1, "A"), ExistenceOpt.NONE);
        owner.publish("moved", meta(2, "A"), ExistenceOpt.NONE);
        owner.addCopy("moved", 2, "B");
        owner.changeRef("moved", "client-1", RefOp.INCREASE, false);
        owner.changeRef("refOnly", "client-1", RefOp.INCREASE, false);
        owner.publish("deleted", meta(3, "A"), ExistenceOpt.NONE);
        owner.delete("deleted");

        final List<KeyHandover> leaving = owner.handOver(key -> key.equals("mine"));

        assertEquals(List.of(
                new KeyHandover("deleted", null, List.of(), Map.of(), 3),
                new KeyHandover("moved", meta(2, "A"), List.of("B"), Map.of("client-1", 1L), 0),
                new KeyHandover("refOnly", null, List.of(), Map.of("client-1", 1L), 0)),
            leaving.stream().sorted(java.util.Comparator.comparing(KeyHandover::key)).toList());
        assertNull(current("moved"));
        assertEquals(0, owner.refHolders("moved"));
        assertEquals(meta(1, "A"), current("mine"));
        assertTrue(retired.stream().noneMatch(line -> line.contains("moved")), "copies are not retired: " + retired);
    }

    @Test
    void aWaiterOfAKeyThatMovesIsSentOnWithNotOwner() throws Exception
    {
        final FutureTask<KeyMeta[]> waiting = new FutureTask<>(() -> owner.query(List.of("moving"), 10_000));
        Thread.ofVirtual().start(waiting);
        Thread.sleep(100);
        owner.handOver(key -> false);
        final ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
            () -> waiting.get(5, TimeUnit.SECONDS));
        assertInstanceOf(DsException.class, e.getCause());
        assertEquals(StatusCode.NOT_OWNER, ((DsException) e.getCause()).code());
    }

    @Test
    void aGoneHolderLeavesEveryRecordAndItsPrimariesPassToAReplica() throws InterruptedException
    {
        owner.publish("withReplica", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("withReplica", 1, "B");
        owner.addCopy("withReplica", 1, "C");
        owner.publish("alone", meta(2, "A"), ExistenceOpt.NONE);
        owner.publish("elsewhere", meta(3, "B"), ExistenceOpt.NONE);
        owner.addCopy("elsewhere", 3, "A");

        assertEquals(1, owner.holderGone("A", Long.MAX_VALUE));

        assertEquals("B", current("withReplica").primary());
        assertEquals(List.of("B withReplica@1"), promoted, "the promoted replica's holder is told");
        assertNull(current("alone"));
        assertFalse(owner.exists("alone"));
        // A is no longer a replica holder of "elsewhere": an overwrite tells only B
        owner.publish("elsewhere", meta(4, "D"), ExistenceOpt.NONE);
        assertEquals(List.of("B elsewhere@3 REPLACED"), retired);
        // the promoted record still knows its other replica
        owner.publish("withReplica", meta(5, "D"), ExistenceOpt.NONE);
        assertTrue(retired.containsAll(List.of("B withReplica@1 REPLACED", "C withReplica@1 REPLACED")), "" + retired);
    }

    @Test
    void aRestartedHolderKeepsTheVersionsItWroteSinceItStarted() throws InterruptedException
    {
        owner.publish("before", meta(100, "A"), ExistenceOpt.NONE);
        owner.publish("after", meta(300, "A"), ExistenceOpt.NONE);
        owner.holderGone("A", 200);
        assertNull(current("before"));
        assertEquals(meta(300, "A"), current("after"));
    }

    @Test
    void aPrimaryGivingItsCopyUpPassesTheKeyToAReplicaAndTellsIt() throws InterruptedException
    {
        owner.publish("moved", meta(1, "A"), ExistenceOpt.NONE);
        owner.addCopy("moved", 1, "B");
        owner.removeCopy("moved", 1, "A");
        assertEquals("B", current("moved").primary());
        assertEquals(List.of("B moved@1"), promoted);
        // A is no holder any more: an overwrite retires only B's copy
        owner.publish("moved", meta(2, "C"), ExistenceOpt.NONE);
        assertEquals(List.of("B moved@1 REPLACED"), retired);
    }

    @Test
    void aPrimaryGivingUpItsOnlyCopyEndsTheKey() throws InterruptedException
    {
        owner.publish("only", meta(1, "A"), ExistenceOpt.NONE);
        owner.removeCopy("only", 1, "A");
        assertNull(current("only"));
        assertEquals(List.of(), promoted);
        // an old version given up changes nothing
        owner.publish("newer", meta(2, "A"), ExistenceOpt.NONE);
        owner.addCopy("newer", 2, "B");
        owner.removeCopy("newer", 1, "A");
        assertEquals("A", current("newer").primary());
    }
}
