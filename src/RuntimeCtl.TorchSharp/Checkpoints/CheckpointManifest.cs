using System.Text.Json.Serialization;

namespace RuntimeCtl.TorchSharp;

/// <summary>The <c>manifest.json</c> of a checkpoint directory, written last, so its presence marks a complete checkpoint.</summary>
internal sealed record CheckpointManifest
{
    public const string FormatName = "runtimectl-torchsharp-checkpoint";
    public const int CurrentVersion = 1;

    public required string Format { get; init; }

    public required int Version { get; init; }

    public required long Step { get; init; }

    /// <summary>Gets <see cref="RuntimeController{TContext}.CommandPosition"/> at the save (its key is kept from version 1).</summary>
    [JsonPropertyName("applied_command_position")]
    public required long CommandPosition { get; init; }

    public required string ModelFile { get; init; }

    public required string ModelSha256 { get; init; }

    public required string OptimizerFile { get; init; }

    public required string OptimizerSha256 { get; init; }

    public required string OptimizerType { get; init; }

    /// <summary>Gets the shape of every parameter of each optimizer parameter group, in group order.</summary>
    public required IReadOnlyList<IReadOnlyList<IReadOnlyList<long>>> OptimizerGroups { get; init; }

    public required IReadOnlyList<ManifestTensor> Tensors { get; init; }
}

/// <summary>One state entry in <see cref="CheckpointManifest"/>.</summary>
internal sealed record ManifestTensor
{
    public required string Name { get; init; }

    public required IReadOnlyList<long> Shape { get; init; }

    public required string Dtype { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(CheckpointManifest))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
