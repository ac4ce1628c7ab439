using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Metadata;

namespace TaskManager.Api.Http;

/// <summary>
/// How an endpoint's parameters are named in the query: by <c>[FromQuery(Name = …)]</c> where given (every field of an
/// <c>[AsParameters]</c> query record names itself so), else by their own name. The OpenAPI document names them the same
/// way, from the same metadata.
/// </summary>
public static class QueryParameters
{
    // Read once per parameter: the binding metadata lives as long as its endpoint.
    private static readonly ConditionalWeakTable<IParameterBindingMetadata, string> Names = new();

    public static string NameOf(IParameterBindingMetadata parameter) =>
        Names.GetValue(parameter, static p => FromQuery(p)?.Name ?? p.Name);

    /// <summary>The names of the endpoint's [FromQuery] parameters, in the order the handler declares them.</summary>
    public static IEnumerable<string> Of(Endpoint? endpoint) =>
        from parameter in endpoint?.Metadata.GetOrderedMetadata<IParameterBindingMetadata>() ?? []
        where FromQuery(parameter) is not null
        select NameOf(parameter);

    private static IFromQueryMetadata? FromQuery(IParameterBindingMetadata parameter) =>
        parameter.ParameterInfo.GetCustomAttributes(inherit: true).OfType<IFromQueryMetadata>().FirstOrDefault();
}
