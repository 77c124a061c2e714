package io.ds4j.worker.cluster;

import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.config.WorkerFlags;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EtcdSettingsTest
{
    @Test
    void keysFollowTheUpstreamLayout()
    {
        final EtcdSettings plain = EtcdSettings.of("127.0.0.1:2379", "", "", "");
        assertEquals("", plain.prefix());
        assertEquals("/datasystem/cluster/127.0.0.1:31501", plain.clusterKey("127.0.0.1:31501"));
        assertEquals("/datasystem/ring/", plain.ringKey());
        final EtcdSettings named = EtcdSettings.of("127.0.0.1:2379", "az1", "", "");
        assertEquals("/az1", named.prefix());
        assertEquals("/az1/datasystem/cluster/127.0.0.1:31501", named.clusterKey("127.0.0.1:31501"));
        assertEquals("/az1/datasystem/cluster/", named.clusterPrefix());
        assertEquals("/az1/datasystem/ring/", named.ringKey());
    }

    @Test
    void endpointsTakeBothFormsAndBadOnesAreNamed()
    {
        final EtcdSettings etcd = EtcdSettings.of(" 10.0.0.1:2379, http://10.0.0.2:2380/ ,", "", "", "");
        assertEquals(List.of("10.0.0.1:2379", "10.0.0.2:2380"), etcd.endpoints());
        assertEquals(List.of(URI.create("http://10.0.0.1:2379"), URI.create("http://10.0.0.2:2380")), etcd.uris());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EtcdSettings.of("", "", "", ""))
            .getMessage().contains("names no endpoint"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EtcdSettings.of("etcd", "", "", ""))
            .getMessage().contains("'etcd' is not host:port"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EtcdSettings.of("https://h:1", "", "", ""))
            .getMessage().contains("TLS"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EtcdSettings.of("h:1", "a/b", "", ""))
            .getMessage().contains("--cluster_name"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EtcdSettings.of("h:1", "", "root", ""))
            .getMessage().contains("go together"));
    }

    @Test
    void thePasswordIsNeverShown()
    {
        final EtcdSettings etcd = EtcdSettings.of("h:1", "", "root", "s3cret");
        assertTrue(etcd.hasCredentials());
        assertFalse(etcd.toString().contains("s3cret"), etcd.toString());
        assertFalse(EtcdSettings.of("h:1", "", "", "").hasCredentials());
    }

    @Test
    void fromTheWorkerFlags()
    {
        final Map<String, String> flags = WorkerFlags.parse(List.of("--etcd_address=127.0.0.1:2379",
            "--cluster_name=c1", "--etcd_username=u", "--etcd_password=p"));
        final EtcdSettings etcd = EtcdSettings.from(WorkerConfig.from(flags));
        assertEquals(new EtcdSettings(List.of("127.0.0.1:2379"), "u", "p", "c1"), etcd);
        assertThrows(IllegalArgumentException.class,
            () -> EtcdSettings.from(WorkerConfig.from(WorkerFlags.defaults())), "standalone has no etcd");
        assertThrows(IllegalArgumentException.class,
            () -> WorkerConfig.from(WorkerFlags.parse(List.of("--etcd_address=nohost"))), "checked at start");
    }
}
