//! The 3D viewport: orbit camera, lights and the current surface.
//!
//! Patient coordinates (LPS mm) map to Bevy's Y-up world as
//! `world = (L, S, A) = (x, z, −y)`: a proper rotation, so triangle winding and
//! outward normals are preserved.

use bevy::asset::RenderAssetUsages;
use bevy::camera::Viewport;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use twin_mesh::TriMesh;

use crate::study::Workspace;

pub struct ViewportPlugin;

impl Plugin for ViewportPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(GlobalAmbientLight {
            color: Color::WHITE,
            brightness: 350.0,
            affects_lightmapped_meshes: true,
        })
        .init_resource::<ViewportRect>()
        .add_systems(Startup, setup_scene)
        .add_systems(
            Update,
            (
                show_new_surface,
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
    fn transform(&self) -> Transform {
        let rot = Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0);
        let eye = self.target + rot * Vec3::new(0.0, 0.0, self.distance);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }
}

/// Marks the entity showing the current surface.
#[derive(Component)]
struct Surface;

/// Area of the window (logical pixels) left for the 3D view, set by the panels.
#[derive(Resource, Default, Clone, Copy)]
pub struct ViewportRect {
    pub min: Vec2,
    pub max: Vec2,
}

/// LPS millimetres → Bevy world.
#[must_use]
pub fn lps_to_world(p: [f32; 3]) -> Vec3 {
    Vec3::new(p[0], p[2], -p[1])
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
    let positions: Vec<[f32; 3]> = mesh
        .positions
        .iter()
        .map(|p| lps_to_world(*p).to_array())
        .collect();
    let normals: Vec<[f32; 3]> = mesh
        .vertex_normals()
        .into_iter()
        .map(|n| lps_to_world(n).to_array())
        .collect();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_indices(Indices::U32(indices))
}

fn show_new_surface(
    mut commands: Commands,
    mut ws: ResMut<Workspace>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<Surface>>,
    mut camera: Query<(&mut OrbitCamera, &mut Transform)>,
) {
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
        orbit.distance = (b - a).length().max(10.0) * 1.25;
        *transform = orbit.transform();
    }
    commands.spawn((
        Surface,
        Mesh3d(meshes.add(to_bevy_mesh(&mesh))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: colour,
            perceptual_roughness: 0.55,
            reflectance: 0.3,
            ..default()
        })),
        Transform::IDENTITY,
    ));
}

/// The MPR crosshair in 3D: three lines through it across the volume, in
/// the colours of the views whose planes meet there.
fn draw_crosshair(ws: Res<Workspace>, mut gizmos: Gizmos) {
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

fn orbit_camera(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    egui_input: Res<EguiWantsInput>,
    rect: Res<ViewportRect>,
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
        .is_some_and(|p| p.cmpge(rect.min).all() && p.cmplt(rect.max).all());
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
    rect: Res<ViewportRect>,
    window: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut camera: Query<&mut Camera, With<OrbitCamera>>,
) {
    let (Ok(window), Ok(mut camera)) = (window.single(), camera.single_mut()) else {
        return;
    };
    let scale = window.scale_factor();
    let size = UVec2::new(window.physical_width(), window.physical_height());
    let min = (rect.min * scale).as_uvec2().min(size);
    let max = (rect.max * scale).as_uvec2().min(size);
    if max.x <= min.x + 1 || max.y <= min.y + 1 {
        camera.viewport = None;
        return;
    }
    camera.viewport = Some(Viewport {
        physical_position: min,
        physical_size: max - min,
        ..default()
    });
}
