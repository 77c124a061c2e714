package io.ds4j.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** dscli stop's default wait: as upstream, 180 s plus the pool at the migration rate limit. */
class StopTimeoutTest
{
    @Test
    void theWaitFollowsTheWorkersOwnPoolSizeAndRateLimit()
    {
        assertEquals(180 + 4096 / 16, StopCommand.defaultTimeoutSeconds(List.of("java", WorkerLauncher.MAIN_CLASS,
            "--shared_memory_size_mb=4096", "--data_migrate_rate_limit_mb=16")));
    }

    @Test
    void flagsTheWorkerWasNotGivenCountWithTheirDefaults()
    {
        assertEquals(180 + 1024 / 40, StopCommand.defaultTimeoutSeconds(List.of("java", WorkerLauncher.MAIN_CLASS)));
    }

    @Test
    void theLastValueOfARepeatedFlagWins()
    {
        assertEquals("64", WorkerLauncher.flagOf(List.of("--shared_memory_size_mb=8",
            "--shared_memory_size_mb=64"), "shared_memory_size_mb").orElseThrow());
    }
}
