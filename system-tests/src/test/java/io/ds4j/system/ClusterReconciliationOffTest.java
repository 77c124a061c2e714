package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.common.StatusCode;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.assertCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@code enable_reconciliation=false}: a restarted owner is not told the copies the others hold of its keys, so
 * they drop them (docs/cluster.md 6.4). The key is gone, and, what matters, a later overwrite is never shadowed by
 * a copy its owner could not retire. With the flag on (the default) the same key survives the restart.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterReconciliationOffTest
{
    @Test
    void aRestartedOwnerForgetsItsKeysAndTheirCopiesGoSoNoOverwriteIsShadowed() throws Exception
    {
        try (MiniCluster cluster = MiniCluster.builder().workers(3).flag("enable_reconciliation", "false").start())
        {
            final String key = cluster.keyOwnedBy(0, "unreconciled");
            try (DsClient writer = cluster.connect(1))
            {
                writer.kv().set(key, "v1".getBytes());
            }
            cluster.kill9(0); // a crash and a quick restart: a clean stop would hand the records over instead
            cluster.restart(0);
            try (DsClient atPrimary = cluster.connect(1); DsClient other = cluster.connect(2))
            {
                assertCode(StatusCode.NOT_FOUND, () -> other.kv().get(key));
                assertCode(StatusCode.NOT_FOUND, () -> atPrimary.kv().get(key));
                other.kv().set(key, "v2".getBytes());
                assertArrayEquals("v2".getBytes(), atPrimary.kv().get(key), "the old primary serves the overwrite");
            }
        }
    }

    @Test
    void withReconciliationTheSameKeySurvivesItsOwnersRestart() throws Exception
    {
        try (MiniCluster cluster = MiniCluster.builder().workers(3).start())
        {
            final String key = cluster.keyOwnedBy(0, "reconciled");
            try (DsClient writer = cluster.connect(1))
            {
                writer.kv().set(key, "v1".getBytes());
            }
            cluster.kill9(0); // a crash and a quick restart: a clean stop would hand the records over instead
            cluster.restart(0);
            try (DsClient other = cluster.connect(2))
            {
                assertArrayEquals("v1".getBytes(), other.kv().get(key));
            }
        }
    }
}
