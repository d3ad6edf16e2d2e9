fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let p = |f: &str| std::fs::read(format!("{dir}/{f}")).unwrap();
    let sp = simkyc_dlib::shape_predictor::ShapePredictor::read(&p("shape_predictor_5_face_landmarks.dat")).unwrap();
    println!("sp parts {}", sp.num_parts());
    let net = simkyc_dlib::dnn::read_net(&p("dlib_face_recognition_resnet_model_v1.dat"), &simkyc_dlib::dnn::Arch::face_resnet_v1()).unwrap();
    println!("resnet ops {} {:?} {:?}", net.ops.len(), net.input, net.loss);
    let m = simkyc_dlib::onnx_export::to_onnx(&net, simkyc_dlib::onnx_export::InputDims::Fixed{rows:150,cols:150}, "r").unwrap();
    std::fs::write("/tmp/resnet.onnx", simkyc_dlib::onnx_export::encode(&m)).unwrap();
    let net = simkyc_dlib::dnn::read_net(&p("mmod_human_face_detector.dat"), &simkyc_dlib::dnn::Arch::mmod_face_detector()).unwrap();
    println!("mmod ops {} {:?} {:?}", net.ops.len(), net.input, net.loss);
    let m = simkyc_dlib::onnx_export::to_onnx(&net, simkyc_dlib::onnx_export::InputDims::Dynamic, "m").unwrap();
    std::fs::write("/tmp/mmod.onnx", simkyc_dlib::onnx_export::encode(&m)).unwrap();
}
