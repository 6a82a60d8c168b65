//! EP benchmarks: activation of the demo heart's ventricles (sinus
//! rhythm's early sites, the default tissue with fibres and the fast
//! endocardial layer) by the eikonal march and by the graph method; the
//! graph is exported for the peer (scipy's Dijkstra on the same edges).

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use twin_ep::eikonal::{Conduction, Graph, Source, activation};
use twin_ep::heart::{Heart, Rhythm, Tissue};

fn setup(mesh_mm: f64) -> anyhow::Result<(Heart, Conduction, Vec<Source>)> {
    let heart = twin_session::ep::demo_heart(mesh_mm)?;
    let rhythm = Rhythm::sinus();
    let cond = heart.conduction(&Tissue::default(), rhythm.block)?;
    let sources = heart.sources(&rhythm)?;
    Ok((heart, cond, sources))
}

/// `spec` = `march@MM` or `graph@MM`: seconds of one activation (the
/// graph built outside the timing, as the peer's) and the node count.
pub fn run(spec: &str) -> anyhow::Result<(f64, usize)> {
    let (method, mm) = spec
        .split_once('@')
        .context("ep tasks take march@MM or graph@MM")?;
    let (heart, cond, sources) = setup(mm.parse()?)?;
    let t = if method == "graph" {
        let g = Graph::new(&heart.mesh, &cond);
        let clock = Instant::now();
        g.activation(&heart.mesh, &sources)?;
        clock.elapsed().as_secs_f64()
    } else {
        let clock = Instant::now();
        activation(&heart.mesh, &cond, &sources)?;
        clock.elapsed().as_secs_f64()
    };
    Ok((t, heart.mesh.nodes.len()))
}

/// Writes the graph of the demo heart at `mm` for the peer: `OUT.json`
/// (nodes, sources as `[node, time]`) beside `OUT.edges` (little-endian
/// `u32 a, u32 b, f64 ms` per edge) and `OUT.times` (Twinscope's graph
/// times, f64 per node, for the agreement check).
pub fn export(out: &Path, mm: f64) -> anyhow::Result<()> {
    let (heart, cond, sources) = setup(mm)?;
    let mesh = &heart.mesh;
    let graph = Graph::new(mesh, &cond);
    let edges: Vec<(u32, u32, f64)> = graph.edges().collect();
    let with = |ext: &str| {
        let mut s = out.as_os_str().to_owned();
        s.push(ext);
        std::path::PathBuf::from(s)
    };
    let mut bytes = Vec::with_capacity(edges.len() * 16);
    for (a, b, w) in &edges {
        bytes.extend_from_slice(&a.to_le_bytes());
        bytes.extend_from_slice(&b.to_le_bytes());
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    std::fs::write(with(".edges"), bytes)?;
    let times = graph.activation(mesh, &sources)?;
    let tb: Vec<u8> = times.iter().flat_map(|t| t.to_le_bytes()).collect();
    std::fs::write(with(".times"), tb)?;
    let json = serde_json::json!({
        "nodes": mesh.nodes.len(),
        "edges": edges.len(),
        "sources": sources.iter().map(|s| (s.node, s.time)).collect::<Vec<_>>(),
    });
    std::fs::write(with(".json"), json.to_string())?;
    Ok(())
}
