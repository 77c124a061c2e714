package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A worker that loses etcd and reaches no other worker is fenced (docs/cluster.md 6.5): each of its clients' gets and
 * sets is answered with NOT_READY, over either transport and whether the value travels inline or through the shared
 * pool, on the same connection, which stays usable; once etcd is back it serves again, with what it held.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ClusterFencedWorkerTest
{
    @ParameterizedTest(name = "{0}")
    @EnumSource(Transport.class)
    void aLoneWorkerWithoutEtcdRefusesWithNotReadyAndServesAgainOnceEtcdIsBack(final Transport transport)
        throws Exception
    {
        try (MiniCluster cluster = MiniCluster.builder().workers(1).flag("node_timeout_s", "2")
            .flag("node_dead_timeout_s", "30").flag("heartbeat_interval_ms", "300").start();
             DsClient client = cluster.connect(0, transport))
        {
            final byte[] large = randomBytes(1, MIB); // through the pool on a shared-memory client
            final byte[] small = "small".getBytes();
            client.kv().set("kept-large", large, SetParam.DEFAULT);
            client.kv().set("kept-small", small, SetParam.DEFAULT);

            cluster.etcd().stop();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true)
            {
                try
                {
                    client.kv().set("probe", small, SetParam.DEFAULT);
                }
                catch (final DsException e)
                {
                    assertTrue(e.code() == StatusCode.NOT_READY, "a fenced worker answers NOT_READY: " + e);
                    break;
                }
                if (System.nanoTime() > deadline)
                {
                    fail("the worker still acknowledged writes 20 s after etcd stopped (node_timeout_s 2)");
                }
                Thread.sleep(100);
            }
            // several of each on the one connection: a refusal must not break it
            for (int i = 0; i < 3; i++)
            {
                assertCode(StatusCode.NOT_READY, () -> client.kv().set("refused-large", large, SetParam.DEFAULT));
                assertCode(StatusCode.NOT_READY, () -> client.kv().set("refused-small", small, SetParam.DEFAULT));
                assertCode(StatusCode.NOT_READY, () -> client.kv().get("kept-large"));
            }

            cluster.etcd().startAgain();
            final long back = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true)
            {
                try
                {
                    client.kv().set("after", large, SetParam.DEFAULT);
                    break;
                }
                catch (final DsException e)
                {
                    assertTrue(e.code() == StatusCode.NOT_READY, "while fenced only NOT_READY: " + e);
                    if (System.nanoTime() > back)
                    {
                        fail("the worker did not serve again within 30 s of etcd coming back: " + e);
                    }
                    Thread.sleep(200);
                }
            }
            assertArrayEquals(large, client.kv().get("after"));
            assertArrayEquals(large, client.kv().get("kept-large"), "what the worker held before the outage");
            assertArrayEquals(small, client.kv().get("kept-small"));
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("refused-large"));
        }
    }
}
