package io.ds4j.test;

import io.ds4j.client.DsClient;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.cluster.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The harness itself: one ring of three, keys placed on purpose, kill -9, restart, a fourth joining, close. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MiniClusterTest
{
    @Test
    void aClusterThroughItsLife()
    {
        final List<Path> homes;
        final EtcdProcess etcd;
        try (MiniCluster cluster = MiniCluster.builder().workers(3).metrics().start())
        {
            etcd = cluster.etcd();
            homes = cluster.workers().stream().map(WorkerProcess::homeDir).toList();
            assertEquals(3, cluster.size());
            assertEquals(List.of(0, 1, 2), cluster.live());
            final TreeSet<String> addresses = new TreeSet<>();
            cluster.workers().forEach(w -> addresses.add(w.address()));
            assertEquals(3, addresses.size(), "each worker has a port of its own");
            assertEquals(List.copyOf(addresses), cluster.ring().workers());
            assertEquals(cluster.ringRecord().toHashRing(), cluster.ring(), "the ring is etcd's");
            cluster.ringRecord().workers().values().forEach(w -> assertEquals(WorkerState.ACTIVE, w.state()));
            assertEquals(3 * HashRing.TOKENS_PER_WORKER, cluster.ring().tokens().values().stream()
                .mapToInt(List::size).sum());
            cluster.workers().forEach(w -> assertEquals("64", w.flags().get("shared_memory_size_mb")));

            for (int owner = 0; owner < 3; owner++)
            {
                final String key = cluster.keyOwnedBy(owner, "placed");
                assertEquals(owner, cluster.ownerOf(key));
                assertEquals(cluster.worker(owner).address(), cluster.ring().ownerOf(key));
                final String other = cluster.keyNotOwnedBy("elsewhere", owner);
                assertNotEquals(owner, cluster.ownerOf(other));
            }
            assertNotEquals(cluster.keyOwnedBy(1, "fresh"), cluster.keyOwnedBy(1, "fresh"), "keys are fresh");
            assertThrows(IllegalArgumentException.class, () -> cluster.keyNotOwnedBy("none", 0, 1, 2));

            // owner 2, primary 0, reader 1
            final String key = cluster.keyOwnedBy(2, "life");
            try (DsClient writer = cluster.connect(0); DsClient reader = cluster.connect(1))
            {
                writer.kv().set(key, "v".getBytes());
                assertArrayEquals("v".getBytes(), reader.kv().get(key));
            }
            assertTrue(cluster.poolUsedBytes(1) > 0, "the reader holds a replica");

            final long pid = cluster.worker(0).pid();
            cluster.kill9(0);
            assertEquals(List.of(1, 2), cluster.live());
            try (DsClient reader = cluster.connect(1))
            {
                assertArrayEquals("v".getBytes(), reader.kv().get(key), "the replica on 1 serves without 0");
                final String ownedByDead = cluster.keyOwnedBy(0, "dead");
                final DsException e = assertThrows(DsException.class, () -> reader.kv().set(ownedByDead,
                    "x".getBytes()));
                assertEquals(StatusCode.RPC_UNAVAILABLE, e.code(), e.getMessage());
            }
            cluster.restart(0);
            assertNotEquals(pid, cluster.worker(0).pid());
            assertEquals(List.of(0, 1, 2), cluster.live());

            final int added = cluster.add(Map.of("max_client_num", "7"));
            assertEquals(3, added);
            assertEquals("7", cluster.worker(added).flags().get("max_client_num"));
            assertEquals(4, cluster.ring().workers().size());
            final String onNew = cluster.keyOwnedBy(added, "new");
            try (DsClient a = cluster.connect(0); DsClient d = cluster.connect(added))
            {
                a.kv().set(onNew, "n".getBytes());
                assertArrayEquals("n".getBytes(), d.kv().get(onNew));
            }

            cluster.stop(1);
            assertFalse(cluster.worker(1).isAlive());
            assertFalse(cluster.members().containsKey(cluster.worker(1).address()), "a clean stop leaves etcd");
        }
        assertFalse(etcd.isAlive(), "a cluster's own etcd stops with it");
        homes.forEach(home -> assertFalse(Files.exists(home), home + " is left"));
    }

    @Test
    void clustersShareAnEtcdUnderTheirOwnNames()
    {
        try (EtcdProcess etcd = EtcdProcess.start())
        {
            try (MiniCluster red = MiniCluster.builder().workers(1).etcd(etcd).clusterName("red").start();
                 MiniCluster blue = MiniCluster.builder().workers(1).etcd(etcd).start())
            {
                assertEquals("red", red.clusterName());
                assertNotEquals("red", blue.clusterName());
                assertEquals(List.of(red.worker(0).address()), red.ring().workers());
                assertEquals(List.of(blue.worker(0).address()), blue.ring().workers());
            }
            assertTrue(etcd.isAlive(), "a shared etcd is left running");
        }
    }
}
