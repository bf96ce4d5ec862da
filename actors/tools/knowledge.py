"""`knowledge_search`: hybrid search over the documents attached to the agent (docs/knowledge.md)."""

from __future__ import annotations

from typing import Any

from actors.tools import ToolContext, ToolError, ToolOutput, register
from runtime import embeddings, knowledge
from runtime.messages import Citation
from runtime.settings import get_settings

RESULTS = 5
"""Chunks handed to the model per search."""


class KnowledgeSearch:
    """Finds the chunks of the agent's documents that best match a query."""

    name = "knowledge_search"
    description = (
        "Search the documents this assistant was given. Call it for any question the "
        "documents may answer, then answer from the passages it returns and name their source."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for, in words."}},
        "required": ["query"],
    }

    async def available(self, context: ToolContext) -> bool:
        """Agents with at least one document attached."""
        if context.facts is not None:
            return context.facts.has_documents
        return await knowledge.agent_has_documents(context.tenant_id, context.agent_id)

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        """Embed the query (metered), search the agent's documents, cite what was found."""
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ToolError("`query` must be a non-empty string.")
        model = get_settings().knowledge.embedding_model
        try:
            embedded = await embeddings.embed(model, [query[:2000]], knowledge.DIMENSIONS)
        except embeddings.EmbeddingError as exc:
            raise ToolError(f"the search is unavailable ({exc.code}): {exc.message}") from exc
        await context.meter_embedding(model, embedded.provider, embedded.tokens)
        hits = await knowledge.search(
            context.tenant_id, query, embedded.vectors[0], agent_id=context.agent_id, limit=RESULTS
        )
        if not hits:
            return ToolOutput("No passage of the documents matches.", "no matching passage")
        content = "\n\n".join(f"[{h.filename} #{h.chunk_index}] {h.content}" for h in hits)
        citations = [
            Citation(document_id=h.document_id, filename=h.filename, chunk_index=h.chunk_index) for h in hits
        ]
        files = sorted({h.filename for h in hits})
        return ToolOutput(content, f"{len(hits)} passage(s) from {', '.join(files)}", citations)


register(KnowledgeSearch())
