package io.ds4j.worker.reconcile;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.peer.ReconciledCodec;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.meta.CopyHolders;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.store.Removal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The owner role as the cluster reaches it: NOT_OWNER, a closed start, and keys held until the peers reported. */
class OwnershipGuardTest
{
    private static final String SELF = "10.0.0.1:1";
    private static final String PEER = "10.0.0.2:1";
    private final HashRing both = HashRing.initial(List.of(SELF, PEER));
    private final LocalMetadataOwner local = new LocalMetadataOwner(new CopyHolders()
    {
        @Override
        public void retire(final String holder, final String key, final long version, final Removal why)
        {
        }

        @Override
        public void promote(final String holder, final String key, final long version)
        {
        }

        @Override
        public void expiryChanged(final String holder, final String key, final long version, final long at)
        {
        }
    });
    private final OwnershipGuard guard = new OwnershipGuard(SELF, () -> both, local, 10_000);

    @AfterEach
    void close()
    {
        guard.close();
    }

    private String keyOwnedBy(final String worker)
    {
        for (int i = 0; ; i++)
        {
            if (both.ownerOf("k" + i).equals(worker))
            {
                return "k" + i;
            }
        }
    }

    private static KeyMeta meta(final long version)
    {
        return new KeyMeta(version, 1, WriteMode.NONE_L2_CACHE, ConsistencyType.CAUSAL, 0, SELF);
    }

    private FutureTask<Boolean> existsInBackground(final String key)
    {
        final FutureTask<Boolean> call = new FutureTask<>(() -> guard.exists(key));
        Thread.ofVirtual().start(call);
        return call;
    }

    @Test
    void itHoldsEveryCallUntilItsStartIsReconciled() throws Exception
    {
        final String mine = keyOwnedBy(SELF);
        final FutureTask<Boolean> early = existsInBackground(mine);
        assertThrows(TimeoutException.class, () -> early.get(200, TimeUnit.MILLISECONDS));
        guard.hold(null, report -> report.receiverStartedAtMs() == 42, Set.of(PEER), "started at 42");
        assertThrows(TimeoutException.class, () -> early.get(200, TimeUnit.MILLISECONDS));
        guard.reconciled(new ReconciledCodec.Request(PEER, 0, 41));
        assertThrows(TimeoutException.class, () -> early.get(200, TimeUnit.MILLISECONDS), "a report of another start");
        guard.reconciled(new ReconciledCodec.Request(PEER, 0, 42));
        assertEquals(false, early.get(2, TimeUnit.SECONDS));
    }

    @Test
    void keysItDoesNotOwnAnswerNotOwner()
    {
        guard.hold(null, report -> true, Set.of(), "no peers");
        final DsException e = assertThrows(DsException.class, () -> guard.publish(keyOwnedBy(PEER), meta(1),
            ExistenceOpt.NONE));
        assertEquals(StatusCode.NOT_OWNER, e.code());
    }

    @Test
    void aKeyTakenOverIsHeldUntilThePeersReportedForTheNewRing() throws Exception
    {
        guard.hold(null, report -> true, Set.of(), "no peers");
        final String mine = keyOwnedBy(SELF);
        // before the change, the peer owned everything: this worker took `mine` over
        guard.hold(HashRing.standalone(PEER), report -> report.ringFingerprint() == 7, Set.of(PEER), "ring 7");
        final FutureTask<Boolean> held = existsInBackground(mine);
        assertThrows(TimeoutException.class, () -> held.get(200, TimeUnit.MILLISECONDS));
        guard.reconciled(new ReconciledCodec.Request(PEER, 7, 0));
        assertEquals(false, held.get(2, TimeUnit.SECONDS));
    }

    @Test
    void aKeyThatStayedIsNotHeld() throws Exception
    {
        guard.hold(null, report -> true, Set.of(), "no peers");
        guard.hold(both, report -> report.ringFingerprint() == 7, Set.of(PEER), "ring 7");
        assertEquals(false, existsInBackground(keyOwnedBy(SELF)).get(1, TimeUnit.SECONDS));
    }

    @Test
    void aGateNobodyAnswersOpensAfterItsBound() throws Exception
    {
        guard.hold(null, report -> false, Set.of(PEER), "nobody answers");
        final long start = System.nanoTime();
        assertEquals(false, guard.exists(keyOwnedBy(SELF)));
        final long waitedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMs >= OwnershipGuard.GATE_WAIT_MS - 100 && waitedMs < OwnershipGuard.GATE_WAIT_MS + 2_000,
            "waited " + waitedMs + " ms");
    }
}
