using System.Text.Json;
using RuntimeCtl.Cli.Tests.Support;

namespace RuntimeCtl.Cli.Tests;

/// <summary>The hostile-input corpus as <c>acks.jsonl</c>: <c>status</c> reports bad lines and goes on.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StatusCorpusTests : IDisposable
{
    private const string Canary = """{"id":"canary-ack","ts":1.0,"path":"p","op":"set","status":"applied","args":[],"kwargs":{}}""";

    private readonly TempQueueDirectory _q = new();

    /// <summary>
    /// Each corpus file followed by the canary ack: how many acks <c>status</c> shows (the canary among them) and how
    /// many lines it counts as bad. Computed once, apart from this code, by a Python script of the ack rules (a non-blank
    /// line, trimmed of ASCII white space and of a BOM at the file's start, is an ack when it is strict UTF-8 JSON, an
    /// object, without duplicate keys, lone surrogates, NaN or numbers beyond double, nested at most 64 deep).
    /// </summary>
    public static TheoryData<string, int, int> Expected { get; } = new()
    {
        { "args-and-kwargs-wrong.jsonl", 2, 0 },
        { "args-null.jsonl", 2, 0 },
        { "args-number.jsonl", 2, 0 },
        { "args-object.jsonl", 2, 0 },
        { "args-string.jsonl", 2, 0 },
        { "at-step-bool.jsonl", 2, 0 },
        { "at-step-float.jsonl", 2, 0 },
        { "at-step-null.jsonl", 2, 0 },
        { "at-step-object.jsonl", 2, 0 },
        { "at-step-overflow.jsonl", 2, 0 },
        { "at-step-string-emoji-at-truncation.jsonl", 2, 0 },
        { "at-step-string.jsonl", 2, 0 },
        { "bom-at-file-start.jsonl", 2, 0 },
        { "bom-mid-file.jsonl", 2, 1 },
        { "bom-only.jsonl", 1, 0 },
        { "bom-twice-at-file-start.jsonl", 1, 1 },
        { "control-char-in-string.jsonl", 1, 1 },
        { "crlf-line-endings.jsonl", 3, 0 },
        { "deep-nesting-1000-arrays.jsonl", 1, 1 },
        { "deep-nesting-1000-objects.jsonl", 1, 1 },
        { "deep-nesting-unclosed.jsonl", 1, 1 },
        { "del-char-in-string.jsonl", 2, 0 },
        { "duplicate-id-after-rejected.jsonl", 3, 0 },
        { "duplicate-id.jsonl", 3, 0 },
        { "duplicate-key-escaped.jsonl", 1, 1 },
        { "duplicate-key-id.jsonl", 1, 1 },
        { "duplicate-key-nested.jsonl", 1, 1 },
        { "duplicate-key-path.jsonl", 1, 1 },
        { "empty-file.jsonl", 1, 0 },
        { "escaped-controls-in-path.jsonl", 2, 0 },
        { "escaped-nul-in-id.jsonl", 2, 0 },
        { "escaped-surrogate-pair-valid.jsonl", 2, 0 },
        { "failed-error-emoji-at-truncation.jsonl", 2, 0 },
        { "id-array.jsonl", 2, 0 },
        { "id-bool.jsonl", 2, 0 },
        { "id-empty.jsonl", 2, 0 },
        { "id-float.jsonl", 2, 0 },
        { "id-null.jsonl", 2, 0 },
        { "id-number.jsonl", 2, 0 },
        { "id-object-emoji-at-truncation.jsonl", 2, 0 },
        { "id-object.jsonl", 2, 0 },
        { "identical-lines-without-id.jsonl", 3, 0 },
        { "invalid-escape.jsonl", 1, 1 },
        { "invalid-utf8-above-u10ffff.jsonl", 1, 1 },
        { "invalid-utf8-cut-sequence-at-eof.jsonl", 1, 1 },
        { "invalid-utf8-cut-sequence-at-line-end.jsonl", 1, 1 },
        { "invalid-utf8-cut-sequence.jsonl", 1, 1 },
        { "invalid-utf8-encoded-surrogate.jsonl", 1, 1 },
        { "invalid-utf8-latin1.jsonl", 1, 1 },
        { "invalid-utf8-lone-continuation.jsonl", 1, 1 },
        { "invalid-utf8-overlong-2-byte.jsonl", 1, 1 },
        { "invalid-utf8-overlong-3-byte.jsonl", 1, 1 },
        { "invalid-utf8-overlong-4-byte.jsonl", 1, 1 },
        { "invalid-utf8-overlong-quote.jsonl", 1, 1 },
        { "json-comment-inside.jsonl", 1, 1 },
        { "json-comment-line.jsonl", 1, 1 },
        { "json-comment-trailing.jsonl", 1, 1 },
        { "kwargs-array.jsonl", 2, 0 },
        { "kwargs-null.jsonl", 2, 0 },
        { "kwargs-string.jsonl", 2, 0 },
        { "lone-brace.jsonl", 1, 2 },
        { "lone-surrogate-high-in-string.jsonl", 1, 1 },
        { "lone-surrogate-high-then-text.jsonl", 1, 1 },
        { "lone-surrogate-in-id.jsonl", 1, 1 },
        { "lone-surrogate-in-ignored-field.jsonl", 1, 1 },
        { "lone-surrogate-in-key.jsonl", 1, 1 },
        { "lone-surrogate-in-nested-key.jsonl", 1, 1 },
        { "lone-surrogate-in-path.jsonl", 1, 1 },
        { "lone-surrogate-low-in-string.jsonl", 1, 1 },
        { "lone-surrogate-reversed-pair.jsonl", 1, 1 },
        { "nesting-under-limit.jsonl", 2, 0 },
        { "not-object-array-of-commands.jsonl", 1, 1 },
        { "not-object-array.jsonl", 1, 1 },
        { "not-object-null.jsonl", 1, 1 },
        { "not-object-number.jsonl", 1, 1 },
        { "not-object-string.jsonl", 1, 1 },
        { "not-object-true.jsonl", 1, 1 },
        { "nul-byte-after-object.jsonl", 1, 1 },
        { "nul-byte-in-string.jsonl", 1, 1 },
        { "nul-bytes-only.jsonl", 1, 1 },
        { "number-hex.jsonl", 1, 1 },
        { "number-infinity.jsonl", 1, 1 },
        { "number-leading-plus.jsonl", 1, 1 },
        { "number-leading-zero.jsonl", 1, 1 },
        { "number-nan.jsonl", 1, 1 },
        { "number-negative-infinity.jsonl", 1, 1 },
        { "number-overflow-1e999.jsonl", 1, 1 },
        { "number-overflow-in-ignored-field.jsonl", 1, 1 },
        { "number-overflow-negative-1e999.jsonl", 1, 1 },
        { "number-overflow-nested.jsonl", 1, 1 },
        { "number-underflow-1e-999.jsonl", 2, 0 },
        { "op-array.jsonl", 2, 0 },
        { "op-bool.jsonl", 2, 0 },
        { "op-null.jsonl", 2, 0 },
        { "op-number.jsonl", 2, 0 },
        { "op-object.jsonl", 2, 0 },
        { "op-uppercase.jsonl", 2, 0 },
        { "path-array.jsonl", 2, 0 },
        { "path-bool.jsonl", 2, 0 },
        { "path-null.jsonl", 2, 0 },
        { "path-number.jsonl", 2, 0 },
        { "path-object.jsonl", 2, 0 },
        { "python-literals.jsonl", 1, 1 },
        { "python-whitespace-only-lines.jsonl", 1, 0 }, // both lines are blank by the format's one line rule (docs/queue-format.md, "Lines")
        { "raw-cr-between-tokens.jsonl", 2, 0 },
        { "raw-cr-in-string.jsonl", 1, 1 },
        { "raw-file-separators-in-string.jsonl", 1, 1 },
        { "raw-tab-in-string.jsonl", 1, 1 },
        { "raw-u0085-in-string.jsonl", 2, 0 },
        { "raw-u2028-between-tokens.jsonl", 1, 1 },
        { "raw-u2028-in-string.jsonl", 2, 0 },
        { "raw-u2029-in-string.jsonl", 2, 0 },
        { "raw-vertical-tab-form-feed-in-string.jsonl", 1, 1 },
        { "short-unicode-escape.jsonl", 1, 1 },
        { "single-quoted.jsonl", 1, 1 },
        { "torn-last-line.jsonl", 1, 1 },
        { "torn-line-abandoned.jsonl", 1, 1 },
        { "torn-line-after-valid.jsonl", 2, 1 },
        { "trailing-comma-array.jsonl", 1, 1 },
        { "trailing-comma-object.jsonl", 1, 1 },
        { "trailing-garbage.jsonl", 1, 1 },
        { "truncated-object.jsonl", 1, 1 },
        { "two-objects-comma.jsonl", 1, 1 },
        { "two-objects-one-line.jsonl", 1, 1 },
        { "unexpected-keyword-hostile.jsonl", 2, 0 },
        { "unquoted-keys.jsonl", 1, 1 },
        { "unterminated-string.jsonl", 1, 1 },
        { "utf16le-with-bom.jsonl", 1, 2 },
        { "whitespace-around-object.jsonl", 2, 0 },
        { "whitespace-only-lines.jsonl", 1, 0 },
    };

    public void Dispose() => _q.Dispose();

    [Theory]
    [MemberData(nameof(Expected))]
    public void Run_StatusOverHostileAcks_ReportsAndGoesOn(string kind, int shown, int bad)
    {
        _q.Create();
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", kind));
        File.WriteAllBytes(_q.Acks, [.. bytes, (byte)'\n', .. System.Text.Encoding.UTF8.GetBytes(Canary + "\n")]);
        File.WriteAllText(_q.Commands, string.Empty);

        var result = InProcess.Run("-q", _q.Dir, "status", "--last", "100000");

        Assert.Equal(0, result.ExitCode);
        var status = result.Json;
        var last = status.GetProperty("last_acks");
        Assert.Equal("canary-ack", last[last.GetArrayLength() - 1].GetProperty("id").GetString());
        Assert.Equal(shown, last.GetArrayLength());
        Assert.Equal(bad, status.GetProperty("bad_ack_lines").GetInt32());
        Assert.All(last.EnumerateArray(), ack => Assert.Equal(JsonValueKind.Object, ack.ValueKind));
    }

    [Fact]
    public void Expected_EveryCorpusFile_HasItsRow()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Corpus"), "*.jsonl").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(files, Expected.Select(row => (string)row[0]).Order(StringComparer.Ordinal));
    }
}
