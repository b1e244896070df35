using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RuntimeCtl.TorchSharp.Tests.Support;

namespace RuntimeCtl.TorchSharp.Tests.Samples;

/// <summary>
/// TorchSharpTraining with <c>--metrics-port</c> and <c>--tensorboard</c>, steered with an applied and a failed
/// command: the Prometheus scrape counts both, and the TensorBoard event file (read back with the protobuf types
/// TorchSharp writes) holds the loss scalars and the acks as text at their steps.
/// </summary>
public sealed class TorchSharpTrainingObservabilityTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Sample_MetricsPortAndTensorBoard_ExportCommandsAndScalars()
    {
        var queue = _temp.Combine("queue");
        var events = _temp.Combine("tb");
        var port = FreePort();
        using var sample = ChildProcess.StartDotnet(TestPaths.TorchSharpTraining, ["--queue", queue, "--step-delay-ms", "5", "--log-every", "1", "--metrics-port", port.ToString(CultureInfo.InvariantCulture), "--tensorboard", events]);
        var applied = Cli(["-q", queue, "optimizer.lr", "0.0005", "--wait", "--timeout", "60"]);
        var failed = ChildProcess.RunDotnet(TestPaths.Cli, ["-q", queue, "model.dropout.p", "1.5", "--wait", "--timeout", "60"], Patience);
        Assert.True(failed.ExitCode == 4, failed.ToString());

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var scrape = await Scrape(http, port, sample);
        Cli(["-q", queue, "train.stop"]);
        sample.WaitForExit(Patience);

        Assert.Contains(scrape, l => l.StartsWith("runtimectl_commands_total{", StringComparison.Ordinal) && l.Contains("path=\"optimizer.lr\"", StringComparison.Ordinal) && l.Contains("status=\"applied\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(scrape, l => l.StartsWith("runtimectl_commands_total{", StringComparison.Ordinal) && l.Contains("path=\"model.dropout.p\"", StringComparison.Ordinal) && l.Contains("status=\"failed\"", StringComparison.Ordinal));
        Assert.Contains(scrape, l => l.StartsWith("runtimectl_poll_duration_seconds_count{", StringComparison.Ordinal));
        Assert.Contains(scrape, l => l.StartsWith("runtimectl_metric{", StringComparison.Ordinal) && l.Contains("name=\"loss\"", StringComparison.Ordinal));
        Assert.Contains(scrape, l => l.StartsWith("dotnet_", StringComparison.Ordinal)); // the runtime's own

        var records = ReadEvents(Assert.Single(Directory.GetFiles(events, "events.out.tfevents.*")));
        var values = records.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, Value: v))).ToList();
        Assert.Contains(values, v => v.Value.Tag == "loss" && v.Value.SimpleValue > 0);
        var texts = values.Where(v => v.Value.Tag.StartsWith("runtimectl/", StringComparison.Ordinal))
            .Select(v => (v.Step, v.Value.Tag, Text: v.Value.Tensor.StringVal[0].ToStringUtf8())).ToList();
        var lr = Assert.Single(texts, t => t.Tag.StartsWith("runtimectl/optimizer.lr", StringComparison.Ordinal));
        Assert.Contains("applied", lr.Text, StringComparison.Ordinal);
        Assert.Equal(applied.GetProperty("step").GetInt64(), lr.Step);
        Assert.Contains(texts, t => t.Tag.StartsWith("runtimectl/model.dropout.p", StringComparison.Ordinal) && t.Text.Contains("failed: model.dropout.p must be", StringComparison.Ordinal));
    }

    /// <summary>Reads a TFRecord file: length (8), its CRC (4), the Event, the data's CRC (4).</summary>
    private static List<Tensorboard.Event> ReadEvents(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Tensorboard.Event>();
        for (var at = 0; at + 12 <= bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            events.Add(Tensorboard.Event.Parser.ParseFrom(bytes, at + 12, length));
            at += 12 + length + 4;
        }

        return events;
    }

    private static async Task<string[]> Scrape(HttpClient http, int port, ChildProcess sample)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
                var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Any(l => l.Contains("status=\"failed\"", StringComparison.Ordinal)))
                {
                    return lines;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.False(sample.HasExited, sample.ToString());
            Assert.True(clock.Elapsed < Patience, "no scrape with both commands\n" + sample);
            await Task.Delay(200);
        }
    }

    private static System.Text.Json.JsonElement Cli(string[] arguments)
    {
        var result = ChildProcess.RunDotnet(TestPaths.Cli, [.. arguments, .. arguments.Contains("--wait") ? Array.Empty<string>() : ["--wait", "--timeout", "60"]], Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var ack = System.Text.Json.JsonDocument.Parse(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1]);
        return ack.RootElement.Clone();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
