//! Streaming serialization (Turtle, JSON-LD, N-Triples): the catalogue first, then one dataset at a time, each handed out
//! as its own chunk of bytes, so memory holds one dataset whatever the catalogue's size.

use std::{
    io::{self, Write},
    sync::{Arc, Mutex},
};

use oxjsonld::{JsonLdSerializer, WriterJsonLdSerializer};
use oxttl::{
    NTriplesSerializer, TurtleSerializer, ntriples::WriterNTriplesSerializer,
    turtle::WriterTurtleSerializer,
};

use super::{
    ExportError, Format,
    graph::{GraphBuilder, Triples},
    input::DatasetInput,
    vocab::PREFIXES,
};

/// The bytes written so far and not yet handed out.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = self
            .0
            .lock()
            .map_err(|_| io::Error::other("serializer buffer poisoned"))?;
        pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Serializer {
    Turtle(WriterTurtleSerializer<Pending>),
    JsonLd(WriterJsonLdSerializer<Pending>),
    NTriples(WriterNTriplesSerializer<Pending>),
}

/// Turns the catalogue into chunks of Turtle or JSON-LD: [`DcatEncoder::new`] yields the
/// catalogue's own triples, [`DcatEncoder::dataset`] one dataset's, [`DcatEncoder::finish`]
/// the end of the document. Concatenated, the chunks are one document.
pub struct DcatEncoder {
    graph: GraphBuilder,
    serializer: Serializer,
    pending: Pending,
}

impl DcatEncoder {
    /// Starts a document; the first chunk holds the prefixes and the catalogue node.
    pub fn new(graph: GraphBuilder, format: Format) -> Result<(Self, Vec<u8>), ExportError> {
        let pending = Pending::default();
        let serializer = match format {
            Format::Turtle => {
                let mut s = TurtleSerializer::new();
                for (prefix, iri) in PREFIXES {
                    s = s.with_prefix(*prefix, *iri).map_err(ExportError::prefix)?;
                }
                Serializer::Turtle(s.for_writer(pending.clone()))
            }
            Format::JsonLd => {
                let mut s = JsonLdSerializer::new();
                for (prefix, iri) in PREFIXES {
                    s = s.with_prefix(*prefix, *iri).map_err(ExportError::prefix)?;
                }
                Serializer::JsonLd(s.for_writer(pending.clone()))
            }
            Format::NTriples => {
                Serializer::NTriples(NTriplesSerializer::new().for_writer(pending.clone()))
            }
        };
        let mut encoder = Self {
            graph,
            serializer,
            pending,
        };
        let catalogue = encoder.graph.catalogue();
        let first = encoder.write(catalogue)?;
        Ok((encoder, first))
    }

    /// One dataset's chunk.
    pub fn dataset(&mut self, dataset: &DatasetInput) -> Result<Vec<u8>, ExportError> {
        let triples = self.graph.dataset(dataset);
        self.write(triples)
    }

    /// The last chunk.
    pub fn finish(self) -> Result<Vec<u8>, ExportError> {
        match self.serializer {
            Serializer::Turtle(s) => s.finish().map(|_| ()),
            Serializer::JsonLd(s) => s.finish().map(|_| ()),
            Serializer::NTriples(s) => {
                s.finish();
                Ok(())
            }
        }
        .map_err(ExportError::Io)?;
        Ok(self.pending.take())
    }

    fn write(&mut self, triples: Triples) -> Result<Vec<u8>, ExportError> {
        for triple in &triples.0 {
            match &mut self.serializer {
                Serializer::Turtle(s) => s.serialize_triple(triple),
                Serializer::JsonLd(s) => {
                    s.serialize_quad(triple.as_ref().in_graph(oxrdf::GraphNameRef::DefaultGraph))
                }
                Serializer::NTriples(s) => s.serialize_triple(triple),
            }
            .map_err(ExportError::Io)?;
        }
        Ok(self.pending.take())
    }
}

/// Writes a whole document to `out`, dataset by dataset.
pub fn write_catalogue<'a, W: Write>(
    out: &mut W,
    graph: GraphBuilder,
    format: Format,
    datasets: impl IntoIterator<Item = &'a DatasetInput>,
) -> Result<(), ExportError> {
    let (mut encoder, first) = DcatEncoder::new(graph, format)?;
    out.write_all(&first).map_err(ExportError::Io)?;
    for dataset in datasets {
        out.write_all(&encoder.dataset(dataset)?)
            .map_err(ExportError::Io)?;
    }
    out.write_all(&encoder.finish()?).map_err(ExportError::Io)?;
    out.flush().map_err(ExportError::Io)
}
