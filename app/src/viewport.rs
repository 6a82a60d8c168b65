//! The 3D viewport: orbit camera, lights and the current surface.
//!
//! Patient coordinates (LPS mm) map to Bevy's Y-up world as
//! `world = (L, S, A) = (x, z, −y)` (`session::lps_to_world`): a proper
//! rotation, so triangle winding and outward normals are preserved.

use bevy::asset::RenderAssetUsages;
use bevy::camera::Viewport;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use twin_mesh::TriMesh;

use crate::session::{Session, Study, ViewAsk, bevy_mesh, lps_to_world};

pub struct ViewportPlugin;

impl Plugin for ViewportPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(GlobalAmbientLight {
            color: Color::WHITE,
            brightness: 350.0,
            affects_lightmapped_meshes: true,
        })
        .init_resource::<BaseSurface>()
        .init_resource::<ClipWorker>()
        .add_systems(Startup, setup_scene)
        .add_systems(
            Update,
            (
                show_new_surface,
                apply_built_meshes,
                update_surface_mesh,
                sync_segments,
                pulse_mesh,
                update_planes,
                aim,
                orbit_camera,
                apply_viewport,
                draw_crosshair,
            )
                .chain(),
        );
    }
}

/// The 3D camera, orbiting `target` at `distance` with `yaw`/`pitch` (radians).
#[derive(Component)]
pub struct OrbitCamera {
    pub target: Vec3,
    pub distance: f32,
    pub yaw: f32,
    pub pitch: f32,
}

impl OrbitCamera {
    pub fn transform(&self) -> Transform {
        let rot = Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0);
        let eye = self.target + rot * Vec3::new(0.0, 0.0, self.distance);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }
}

/// The entity showing the study's surface, and what its mesh was built
/// from (source mesh pointer, clip key).
#[derive(Component, Default)]
struct Surface {
    shown: Option<(usize, ClipKey)>,
    /// A mesh being built for it off the frame.
    building: bool,
}

/// What a built mesh was made from: the source mesh (pointer) and the clip.
type BuildKey = (usize, ClipKey);

/// Builds the Bevy meshes of surfaces and segments (clipping, normals) in
/// background threads, one at a time per entity, so that moving the
/// crosshair with clipping on, or a large new surface, never stalls a
/// frame; the newest request wins.
#[derive(Resource)]
struct ClipWorker {
    tx: std::sync::mpsc::Sender<(Entity, BuildKey, Mesh)>,
    rx: std::sync::Mutex<std::sync::mpsc::Receiver<(Entity, BuildKey, Mesh)>>,
}

impl Default for ClipWorker {
    fn default() -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        Self {
            tx,
            rx: std::sync::Mutex::new(rx),
        }
    }
}

impl ClipWorker {
    fn build(&self, entity: Entity, source: std::sync::Arc<TriMesh>, key: BuildKey) {
        let tx = self.tx.clone();
        std::thread::Builder::new()
            .name("mesh: clip".into())
            .spawn(move || {
                let _ = tx.send((entity, key, clipped(&source, key.1)));
            })
            .expect("spawn a mesh thread");
    }
}

/// Puts the meshes built in the background on their entities.
fn apply_built_meshes(
    worker: Res<ClipWorker>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut surfaces: Query<(&mut Surface, &mut Mesh3d), Without<SegmentEntity>>,
    mut segments: Query<(&mut SegmentEntity, &mut Mesh3d), Without<Surface>>,
) {
    let Ok(rx) = worker.rx.lock() else { return };
    while let Ok((entity, key, mesh)) = rx.try_recv() {
        if let Ok((mut surface, mut handle)) = surfaces.get_mut(entity) {
            handle.0 = meshes.add(mesh);
            surface.shown = Some(key);
            surface.building = false;
        } else if let Ok((mut seg, mut handle)) = segments.get_mut(entity) {
            handle.0 = meshes.add(mesh);
            seg.clip = key.1;
            seg.building = false;
        }
    }
}

fn pulse_mesh(
    s: Res<Session>,
    mut last: Local<Option<f32>>,
    base: Res<BaseSurface>,
    mut centre_of: Local<Option<(usize, Vec3)>>,
    mut segments: Query<(&SegmentEntity, &mut Transform), Without<Surface>>,
    mut surfaces: Query<&mut Transform, With<Surface>>,
) {
    // Nothing to do while not pulsing (the transforms were reset when it stopped).
    let pulse = s.pulse;
    if pulse.is_none() && last.is_none() {
        return;
    }
    *last = pulse;
    let newest = s.study.segment_data.last();
    let mesh = newest.map(|d| &d.mesh).or(base.0.as_ref());
    // The mesh's centre, computed once per mesh rather than every frame.
    let centre = mesh.and_then(|m| {
        let key = std::sync::Arc::as_ptr(m) as usize;
        match *centre_of {
            Some((k, c)) if k == key => Some(c),
            _ => {
                let (lo, hi) = m.bounds()?;
                let c = (lps_to_world(lo) + lps_to_world(hi)) / 2.0;
                *centre_of = Some((key, c));
                Some(c)
            }
        }
    });
    let place = |t: &mut Mut<Transform>, s: Option<f32>| {
        let want = match (s, centre) {
            (Some(s), Some(c)) => Transform::from_translation(c - c * s).with_scale(Vec3::splat(s)),
            _ => Transform::IDENTITY,
        };
        t.set_if_neq(want);
    };
    for (seg, mut t) in &mut segments {
        let k = pulse.filter(|_| newest.is_some_and(|d| d.id == seg.id));
        place(&mut t, k);
    }
    for mut t in &mut surfaces {
        place(&mut t, pulse.filter(|_| newest.is_none()));
    }
}

/// The surface of the loaded volume (phase 0).
#[derive(Resource, Default)]
struct BaseSurface(Option<std::sync::Arc<TriMesh>>);

/// A segment's entity: which segment, and what its mesh was built with.
#[derive(Component)]
struct SegmentEntity {
    id: u64,
    clip: ClipKey,
    building: bool,
}

/// One MPR plane drawn in 3D, and the slice it shows.
#[derive(Component)]
struct PlaneQuad {
    plane: twin_imaging::mpr::Plane,
    shown: Option<(usize, i64, (i64, i64))>,
}

/// The clipping state a mesh was cut with: (axis, flip, position in µm),
/// or `None` when not clipped.
type ClipKey = Option<(usize, bool, i64)>;

fn clip_key(ws: &Study) -> ClipKey {
    let clip = ws.segments.clip;
    clip.enabled.then(|| {
        let n = clip.plane.normal_axis();
        (n, clip.flip, (ws.mpr.crosshair[n] * 1000.0).round() as i64)
    })
}

/// `mesh` cut by the clipping plane (kept side: towards +axis, or −axis
/// when flipped).
fn clipped(mesh: &TriMesh, key: ClipKey) -> Mesh {
    match key {
        None => to_bevy_mesh(mesh),
        Some((n, flip, at)) => {
            let sign = if flip { -1.0 } else { 1.0 };
            let mut normal = [0.0; 3];
            normal[n] = sign;
            let cut = twin_mesh::process::clip_by_plane(mesh, normal, sign * at as f64 / 1000.0);
            to_bevy_mesh(&cut)
        }
    }
}

fn setup_scene(mut commands: Commands) {
    let orbit = OrbitCamera {
        target: Vec3::ZERO,
        distance: 600.0,
        yaw: 0.35,
        pitch: -0.25,
    };
    commands
        .spawn((Camera3d::default(), orbit.transform(), orbit))
        .with_children(|c| {
            // A headlight that follows the camera, slightly offset for relief.
            c.spawn((
                DirectionalLight {
                    illuminance: 9000.0,
                    shadow_maps_enabled: false,
                    ..default()
                },
                Transform::from_xyz(0.3, 0.6, 1.0).looking_at(Vec3::ZERO, Vec3::Y),
            ));
        });
}

fn to_bevy_mesh(mesh: &TriMesh) -> Mesh {
    bevy_mesh(mesh, lps_to_world)
}

fn show_new_surface(
    mut commands: Commands,
    mut s: ResMut<Session>,
    mut base: ResMut<BaseSurface>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<Surface>>,
    mut camera: Query<(&mut OrbitCamera, &mut Transform)>,
) {
    let ws = &mut s.study;
    let Some(mesh) = ws.new_surface.take() else {
        return;
    };
    for e in &old {
        commands.entity(e).despawn();
    }
    let is_ct = ws.volume.as_ref().is_some_and(|v| v.unit == "HU");
    let colour = if is_ct {
        Color::srgb(0.92, 0.87, 0.76)
    } else {
        Color::srgb(0.85, 0.25, 0.22)
    };
    if let Some((lo, hi)) = mesh.bounds()
        && let Ok((mut orbit, mut transform)) = camera.single_mut()
    {
        let (a, b) = (lps_to_world(lo), lps_to_world(hi));
        orbit.target = (a + b) / 2.0;
        orbit.distance = (b - a).length().max(10.0) * 1.6;
        *transform = orbit.transform();
    }
    // The mesh itself is built off the frame (update_surface_mesh).
    commands.spawn((
        Surface::default(),
        Mesh3d(Handle::default()),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: colour,
            perceptual_roughness: 0.55,
            reflectance: 0.3,
            ..default()
        })),
        Transform::IDENTITY,
    ));
    base.0 = Some(std::sync::Arc::new(mesh));
}

/// Shows the surface of the current cine phase (the heart beats with the
/// MPR playback), cut by the clipping plane.
fn update_surface_mesh(
    s: Res<Session>,
    base: Res<BaseSurface>,
    worker: Res<ClipWorker>,
    mut surfaces: Query<(Entity, &mut Surface)>,
) {
    let ws = &s.study;
    let source = if ws.cine_surfaces.len() > 1 && ws.cine_surfaces.len() == ws.mpr.frames.len() {
        ws.cine_surfaces.get(ws.mpr.phase)
    } else {
        base.0.as_ref()
    };
    let Some(source) = source else { return };
    let key = (std::sync::Arc::as_ptr(source) as usize, clip_key(ws));
    for (entity, mut surface) in &mut surfaces {
        if surface.shown != Some(key) && !surface.building {
            worker.build(entity, source.clone(), key);
            surface.building = true;
        }
    }
}

/// One entity per segment: mesh (clipped), colour, opacity and visibility
/// follow the segment list.
fn sync_segments(
    mut commands: Commands,
    s: Res<Session>,
    worker: Res<ClipWorker>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut entities: Query<(
        Entity,
        &mut SegmentEntity,
        &MeshMaterial3d<StandardMaterial>,
        &mut Visibility,
    )>,
) {
    let ws = &s.study;
    let key = clip_key(ws);
    let mut seen = Vec::new();
    for (entity, mut seg, material, mut visibility) in &mut entities {
        let Some(i) = ws.segment_data.iter().position(|d| d.id == seg.id) else {
            commands.entity(entity).despawn();
            continue;
        };
        seen.push(seg.id);
        let (data, row) = (&ws.segment_data[i], &ws.segments.rows[i]);
        if seg.clip != key && !seg.building {
            worker.build(entity, data.mesh.clone(), (0, key));
            seg.building = true;
        }
        *visibility = if row.visible {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if let Some(mut m) = materials.get_mut(&material.0) {
            let [r, g, b] = row.colour;
            let colour = Color::srgba_u8(r, g, b, (row.opacity * 255.0).round() as u8);
            if m.base_color != colour {
                m.base_color = colour;
                m.alpha_mode = if row.opacity < 0.999 {
                    AlphaMode::Blend
                } else {
                    AlphaMode::Opaque
                };
            }
        }
    }
    for (data, row) in ws.segment_data.iter().zip(&ws.segments.rows) {
        if seen.contains(&data.id) {
            continue;
        }
        let [r, g, b] = row.colour;
        let entity = commands
            .spawn((
                SegmentEntity {
                    id: data.id,
                    clip: key,
                    building: true,
                },
                Mesh3d(Handle::default()),
                MeshMaterial3d(materials.add(StandardMaterial {
                    base_color: Color::srgb_u8(r, g, b),
                    perceptual_roughness: 0.5,
                    reflectance: 0.3,
                    ..default()
                })),
                Transform::IDENTITY,
                Visibility::Inherited,
            ))
            .id();
        worker.build(entity, data.mesh.clone(), (0, key));
    }
}

/// A slice's rectangle in the world, with texture coordinates.
fn slice_quad(slice: &twin_imaging::mpr::SliceImage) -> Mesh {
    let (w, h) = (slice.width as f64, slice.height as f64);
    let corner = |c: f64, r: f64| lps_to_world(slice.pixel_to_patient(c, r).map(|v| v as f32));
    let positions = vec![
        corner(-0.5, -0.5).to_array(),
        corner(w - 0.5, -0.5).to_array(),
        corner(w - 0.5, h - 0.5).to_array(),
        corner(-0.5, h - 0.5).to_array(),
    ];
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![[0.0f32, 0.0, 1.0]; 4])
    .with_inserted_attribute(
        Mesh::ATTRIBUTE_UV_0,
        vec![[0.0f32, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
    )
    .with_inserted_indices(Indices::U32(vec![0, 1, 2, 0, 2, 3]))
}

/// The three MPR slices as textured planes in 3D, where they lie in the
/// patient, so surfaces can be seen against them.
fn update_planes(
    mut commands: Commands,
    mut s: ResMut<Session>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
    mut quads: Query<(
        &mut PlaneQuad,
        &mut Mesh3d,
        &MeshMaterial3d<StandardMaterial>,
        &mut Visibility,
    )>,
) {
    use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
    use twin_imaging::mpr::Plane;
    let ws = &mut s.study;
    let show = ws.segments.planes_in_3d && ws.mpr.volume().is_some();
    if quads.is_empty() {
        if !show {
            return;
        }
        // Spawned once a slice exists; their meshes and textures follow it.
        for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            let Some(slice) = ws.mpr.slice_image(plane) else {
                return;
            };
            commands.spawn((
                PlaneQuad { plane, shown: None },
                Mesh3d(meshes.add(slice_quad(slice))),
                // See-through, so surfaces behind a plane stay visible.
                MeshMaterial3d(materials.add(StandardMaterial {
                    base_color: Color::srgba(1.0, 1.0, 1.0, 0.6),
                    alpha_mode: AlphaMode::Blend,
                    unlit: true,
                    cull_mode: None,
                    double_sided: true,
                    ..default()
                })),
                Transform::IDENTITY,
                Visibility::Hidden,
            ));
        }
        return;
    }
    let window = ws.mpr.window;
    let phase = ws.mpr.phase;
    let cross = ws.mpr.crosshair;
    for (mut quad, mut mesh, material, mut visibility) in &mut quads {
        *visibility = if show {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if !show {
            continue;
        }
        let n = quad.plane.normal_axis();
        let key = (
            phase,
            (cross[n] * 1000.0).round() as i64,
            ((window.0 * 100.0) as i64, (window.1 * 100.0) as i64),
        );
        if quad.shown == Some(key) {
            continue;
        }
        let Some(slice) = ws.mpr.slice_image(quad.plane) else {
            continue;
        };
        let grey = twin_ui::mpr::to_grey(slice, window);
        let rgba: Vec<u8> = grey
            .pixels
            .iter()
            .flat_map(bevy_egui::egui::Color32::to_array)
            .collect();
        let image = Image::new(
            Extent3d {
                width: slice.width as u32,
                height: slice.height as u32,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        );
        let quad_mesh = slice_quad(slice);
        mesh.0 = meshes.add(quad_mesh);
        if let Some(mut m) = materials.get_mut(&material.0) {
            m.base_color_texture = Some(images.add(image));
        }
        quad.shown = Some(key);
    }
}

/// The MPR crosshair in 3D: three lines through it across the volume, in
/// the colours of the views whose planes meet there.
fn draw_crosshair(s: Res<Session>, mut gizmos: Gizmos) {
    let ws = &s.study;
    let Some(volume) = ws.mpr.volume() else {
        return;
    };
    let (lo, hi) = twin_imaging::mpr::bounds(volume);
    let c = ws.mpr.crosshair;
    let f = |p: [f64; 3]| lps_to_world(p.map(|v| v as f32));
    // The x line lies in the axial and coronal planes, and so on.
    let lines = [
        (
            [lo[0], c[1], c[2]],
            [hi[0], c[1], c[2]],
            Color::srgb(0.9, 0.3, 0.3),
        ),
        (
            [c[0], lo[1], c[2]],
            [c[0], hi[1], c[2]],
            Color::srgb(0.92, 0.8, 0.27),
        ),
        (
            [c[0], c[1], lo[2]],
            [c[0], c[1], hi[2]],
            Color::srgb(0.43, 0.78, 0.35),
        ),
    ];
    for (a, b, colour) in lines {
        gizmos.line(f(a), f(b), colour);
    }
}

/// Turns the camera where another feature asked (the gait skeleton).
fn aim(mut asks: MessageReader<ViewAsk>, mut camera: Query<(&mut OrbitCamera, &mut Transform)>) {
    for ask in asks.read() {
        let ViewAsk::Aim {
            target,
            distance,
            yaw,
            pitch,
        } = *ask;
        if let Ok((mut orbit, mut transform)) = camera.single_mut() {
            *orbit = OrbitCamera {
                target,
                distance,
                yaw,
                pitch,
            };
            *transform = orbit.transform();
        }
    }
}

fn orbit_camera(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    egui_input: Res<EguiWantsInput>,
    s: Res<Session>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut camera: Query<(&mut OrbitCamera, &mut Transform)>,
) {
    let Ok((mut orbit, mut transform)) = camera.single_mut() else {
        return;
    };
    if egui_input.wants_any_pointer_input() {
        return;
    }
    // Only when the pointer is over the 3D view (not over the MPR views).
    let inside = window
        .single()
        .ok()
        .and_then(Window::cursor_position)
        .is_some_and(|p| s.view_rect.contains(p) && p.cmplt(s.view_rect.max).all());
    if !inside {
        return;
    }
    let delta = motion.delta;
    let mut changed = false;
    if buttons.pressed(MouseButton::Left) && delta != Vec2::ZERO {
        orbit.yaw -= delta.x * 0.008;
        orbit.pitch = (orbit.pitch - delta.y * 0.008).clamp(-1.55, 1.55);
        changed = true;
    }
    if (buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle))
        && delta != Vec2::ZERO
    {
        let scale = orbit.distance * 0.0015;
        let right = transform.right();
        let up = transform.up();
        orbit.target += (-delta.x * right + delta.y * up) * scale;
        changed = true;
    }
    if scroll.delta.y != 0.0 {
        let step = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y * 0.1,
            MouseScrollUnit::Pixel => scroll.delta.y * 0.002,
        };
        orbit.distance = (orbit.distance * (1.0 - step)).clamp(1.0, 1.0e5);
        changed = true;
    }
    if changed {
        *transform = orbit.transform();
    }
}

fn apply_viewport(
    s: Res<Session>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut camera: Query<&mut Camera, With<OrbitCamera>>,
) {
    let (Ok(window), Ok(mut camera)) = (window.single(), camera.single_mut()) else {
        return;
    };
    let scale = window.scale_factor();
    let size = UVec2::new(window.physical_width(), window.physical_height());
    let rect = s.view_rect;
    let min = (rect.min * scale).as_uvec2().min(size);
    let max = (rect.max * scale).as_uvec2().min(size);
    if max.x <= min.x + 1 || max.y <= min.y + 1 {
        // No 3D pane in this workspace: nothing to render.
        if camera.is_active {
            camera.is_active = false;
        }
        return;
    }
    if !camera.is_active {
        camera.is_active = true;
    }
    camera.viewport = Some(Viewport {
        physical_position: min,
        physical_size: max - min,
        ..default()
    });
}
