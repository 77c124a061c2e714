package io.ds4j.worker.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerFlagsTest
{
    @Test
    void parsesGflagsAndGnuForms()
    {
        final Map<String, String> flags = WorkerFlags.parse(List.of("--worker_address", "127.0.0.1:4000",
            "-shared_memory_size_mb=64", "--ipc_through_shared_memory=false", "--enable_fallocate"));
        assertEquals("127.0.0.1:4000", flags.get("worker_address"));
        assertEquals("64", flags.get("shared_memory_size_mb"));
        assertEquals("false", flags.get("ipc_through_shared_memory"));
        assertEquals("true", flags.get("enable_fallocate"));
        assertEquals("120", flags.get("client_dead_timeout_s"));
    }

    @Test
    void unknownFlagNamesItAndSuggests()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> WorkerFlags.parse(List.of("--shared_memory_size=64")));
        assertTrue(e.getMessage().contains("--shared_memory_size"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean --shared_memory_size_mb"), e.getMessage());
    }

    @Test
    void badValuesAreRejectedWithTheFlagName()
    {
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> WorkerFlags.parse(List.of("--shared_memory_size_mb=lots"))).getMessage()
            .contains("--shared_memory_size_mb takes a number"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> WorkerFlags.parse(List.of("--worker_address=nohost"))).getMessage().contains("host:port"));
        assertThrows(IllegalArgumentException.class, () -> WorkerFlags.parse(List.of("--worker_address")));
        assertThrows(IllegalArgumentException.class, () -> WorkerFlags.parse(List.of("stray")));
    }

    @Test
    void argsRoundTripThroughToArgs()
    {
        final Map<String, String> flags = WorkerFlags.parse(List.of("--v=1", "--log_dir=/tmp/x"));
        assertEquals(flags, WorkerFlags.parse(WorkerFlags.toArgs(flags)));
    }

    @Test
    void configChecksRanges()
    {
        final Map<String, String> flags = WorkerFlags.defaults();
        flags.put("memory_alignment", "48");
        assertThrows(IllegalArgumentException.class, () -> WorkerConfig.from(flags));
        flags.put("memory_alignment", "64");
        flags.put("shared_memory_size_mb", "0");
        assertThrows(IllegalArgumentException.class, () -> WorkerConfig.from(flags));
        flags.put("shared_memory_size_mb", "16");
        assertEquals(16L << 20, WorkerConfig.from(flags).sharedMemorySizeBytes());
        assertEquals(500 * 1024, WorkerConfig.from(flags).inlineThresholdBytes());
    }

    @Test
    void clusterFlagsHaveTheUpstreamDefaultsAndAreChecked()
    {
        final WorkerConfig config = WorkerConfig.from(WorkerFlags.defaults());
        assertEquals("", config.etcdUsername());
        assertEquals("", config.etcdPassword());
        assertEquals(60, config.nodeTimeoutS());
        assertEquals(300, config.nodeDeadTimeoutS());
        assertTrue(config.autoDelDeadNode());
        assertEquals(60, config.addNodeWaitTimeS());
        assertTrue(config.enableDataReplication());
        assertTrue(config.enableReconciliation());
        assertTrue(config.enableRedirect());
        final Map<String, String> flags = WorkerFlags.parse(List.of("--node_timeout_s=5", "--node_dead_timeout_s=4"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorkerConfig.from(flags)).getMessage()
            .contains("--node_dead_timeout_s"));
        flags.put("node_dead_timeout_s", "5");
        flags.put("etcd_username", "root");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorkerConfig.from(flags)).getMessage()
            .contains("go together"));
        flags.put("etcd_password", "pw");
        flags.put("enable_redirect", "false");
        final WorkerConfig custom = WorkerConfig.from(flags);
        assertEquals(5, custom.nodeTimeoutS());
        assertEquals("pw", custom.etcdPassword());
        assertTrue(custom.toString().contains("etcdPassword=****") && !custom.toString().contains("=pw"),
            "the password stays out of the printed config: " + custom);
        assertTrue(custom.toString().contains("etcdUsername=root"), custom.toString());
        assertEquals(false, custom.enableRedirect());
        flags.put("cluster_name", "a b");
        assertThrows(IllegalArgumentException.class, () -> WorkerConfig.from(flags));
    }
}
