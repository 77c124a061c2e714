package io.ds4j.worker.server;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.worker.TestPools;
import io.ds4j.worker.kv.SetParams;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoredObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SessionRegistryTest
{
    private SharedPool pool;

    @BeforeEach
    void open() throws IOException
    {
        pool = TestPools.create(4 << 20);
    }

    @AfterEach
    void close()
    {
        pool.close();
    }

    @Test
    void reconnectingClientJoinsItsSessionButAnotherPidDoesNot()
    {
        final SessionRegistry registry = new SessionRegistry(10, 1);
        final ClientSession session = registry.join(0, 100, 0);
        assertSame(session, registry.join(session.clientId(), 100, 0));
        assertNotEquals(session.clientId(), registry.join(session.clientId(), 101, 0).clientId());
    }

    @Test
    void maxClientsIsEnforced()
    {
        final SessionRegistry registry = new SessionRegistry(2, 1);
        registry.join(0, 1, 0);
        registry.join(0, 2, 0);
        assertEquals(StatusCode.TRY_AGAIN, assertThrows(DsException.class, () -> registry.join(0, 3, 0)).code());
    }

    @Test
    void deadClientsViewsAndPendingBuffersAreReclaimed() throws InterruptedException
    {
        final SessionRegistry registry = new SessionRegistry(10, 1);
        final ClientSession session = registry.join(0, 7, 0);
        final long empty = pool.used();
        final StoredObject viewed = pool.allocate(1000, 1);
        session.pin(viewed);
        viewed.tryRetain();
        session.pin(viewed);
        final StoredObject created = pool.allocate(5000, 1);
        session.addPending(new ClientSession.Pending("k", created, SetParams.DEFAULT));
        registry.reap();
        assertNotEquals(empty, pool.used(), "a session with no connection is kept for client_dead_timeout_s");
        Thread.sleep(1100);
        registry.reap();
        assertEquals(empty, pool.used());
        assertFalse(session.pin(pool.allocate(64, 1)), "a reclaimed session takes no new pins");
        assertEquals(0, registry.sessions().size());
    }

    @Test
    void aLiveLocalProcessKeepsItsMemoryHoweverLongItIsSilent() throws InterruptedException
    {
        final SessionRegistry registry = new SessionRegistry(10, 1);
        final ProcessHandle self = ProcessHandle.current();
        final long startMs = self.info().startInstant().orElseThrow().toEpochMilli();
        final ClientSession frozen = registry.join(0, self.pid(), startMs);
        frozen.markLocal();
        final ClientSession reusedPid = registry.join(0, self.pid(), startMs - 60_000);
        reusedPid.markLocal();
        final StoredObject viewed = pool.allocate(1000, 1);
        frozen.pin(viewed);
        Thread.sleep(1100);
        registry.reap();
        assertEquals(1, registry.sessions().size(), "only the session whose pid and start time match survives");
        assertSame(frozen, registry.sessions().iterator().next());
        assertEquals(1, frozen.pinnedObjects());
        registry.end(frozen, "said goodbye");
        assertEquals(0, registry.sessions().size());
        assertEquals(0, frozen.pinnedObjects());
    }
}
